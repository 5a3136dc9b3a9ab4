/**
 * Whether hosts may be judged by their silence now, read from the database (domain/fleet-silence.ts has the
 * rules): shared by the fleet monitor, which judges hosts lost and receipts overdue, and by dispatch, which
 * judges a host that has not started its container in time.
 */
import type { Kysely } from 'kysely';
import type { FleetJudgement, FleetSilenceCount, MassSilencePolicy } from '../domain/fleet-silence';
import { judgeFleet } from '../domain/fleet-silence';
import { apiUpSeconds } from '../infra/db/repositories/api-liveness.repo';
import { fleetHoldLeftSeconds, fleetSilence } from '../infra/db/repositories/fleet.repo';
import type { Database } from '../infra/db/schema';

export async function readFleetJudgement(db: Kysely<Database>, heartbeatTimeoutSeconds: number, policy?: MassSilencePolicy):
  Promise<FleetJudgement & { silence: FleetSilenceCount }> {
  const [up, silence, holdLeft] = await Promise.all([apiUpSeconds(db), fleetSilence(db, heartbeatTimeoutSeconds), fleetHoldLeftSeconds(db)]);
  return { ...judgeFleet(heartbeatTimeoutSeconds, { apiUpSeconds: up, silence, holdLeftSeconds: holdLeft }, policy), silence };
}

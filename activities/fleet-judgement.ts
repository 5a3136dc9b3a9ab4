/**
 * Whether hosts may be judged by their silence now, read from the database: the fleet's reports and its
 * receipts (domain/fleet-silence.ts has the rules). Shared by the fleet monitor, which judges hosts lost and
 * receipts overdue, and by dispatch, which judges a host that has not started its container in time.
 */
import type { Kysely } from 'kysely';
import type { FleetJudgement, FleetProofCount, FleetSilenceCount, MassSilencePolicy } from '../domain/fleet-silence';
import { judgeFleet } from '../domain/fleet-silence';
import { apiUpSeconds } from '../infra/db/repositories/api-liveness.repo';
import { fleetHoldLeftSeconds, fleetProofs, fleetSilence } from '../infra/db/repositories/fleet.repo';
import type { Database } from '../infra/db/schema';

export async function readFleetJudgement(db: Kysely<Database>, heartbeatTimeoutSeconds: number, policy?: MassSilencePolicy):
  Promise<FleetJudgement & { silence: FleetSilenceCount; proofs: FleetProofCount }> {
  const [up, silence, holdLeft, proofs] = await Promise.all([apiUpSeconds(db), fleetSilence(db, heartbeatTimeoutSeconds),
    fleetHoldLeftSeconds(db), fleetProofs(db, heartbeatTimeoutSeconds)]);
  return { ...judgeFleet(heartbeatTimeoutSeconds, { apiUpSeconds: up, silence, holdLeftSeconds: holdLeft, proofs }, policy), silence, proofs };
}

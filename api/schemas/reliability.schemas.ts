/** A provider's reliability score as the API shows it (domain/reliability.ts has the formula and its reasons). */
import { z } from '../zod';

const Share = z.number().min(0).max(1);

export const ReliabilityEvidenceView = z
  .object({
    leasesCompleted: z.int().openapi({ description: 'Assignments held until their lease ended (completed or cancelled)' }),
    failoversCaused: z.int().openapi({ description: 'Assignments a lease had to replace: host lost, unhealthy, or not starting the container' }),
    unhealthyMarks: z.int().openapi({ description: 'Times one of its hosts was marked lost or unhealthy' }),
    receiptsAccepted: z.int(),
    receiptsRejected: z.int().openapi({ description: 'Proof receipts refused on arrival' }),
    watchedSeconds: z.number().openapi({ description: 'Time from first to latest accepted receipt, summed over its assignments' }),
    provenSeconds: z.number().openapi({ description: 'Of that, time covered by consecutive valid receipts; the rest are receipt gaps' }),
  })
  .openapi('ReliabilityEvidence', { description: 'What the engine recorded about the provider’s hosts in the evidence window' });

export const ReliabilityView = z
  .object({
    score: Share.openapi({
      description:
        'staying × coverage × validity, in (0, 1]; a provider without a record scores 0.75. Placement takes GPUs cheapest first, '
        + 'then from the provider with the higher score',
      example: 0.93,
    }),
    staying: Share.openapi({ description: 'How often it held its part of a lease to the end rather than causing a failover' }),
    coverage: Share.openapi({ description: 'Share of watched time its receipts proved' }),
    validity: Share.openapi({ description: 'Share of its receipts accepted' }),
    windowDays: z.int().openapi({ description: 'Only evidence this recent counts' }),
    evidence: ReliabilityEvidenceView,
  })
  .openapi('Reliability');
export type ReliabilityView = z.infer<typeof ReliabilityView>;

/** Offers: free capacity a lease could get now. */
import { z } from '../zod';

export const OffersQuery = z.object({
  gpuModel: z.string().min(1).max(64).optional(),
  minTier: z.coerce
    .number()
    .int()
    .min(1)
    .max(3)
    .optional()
    .openapi({ description: 'Only tiers this good or better (tier ≤ minTier)' }),
});

export const OfferView = z
  .object({
    gpuModel: z.string(),
    tier: z.int(),
    pricePerGpuHour: z.string().openapi({ example: '2.5' }),
    vramGb: z.int(),
    available: z.int(),
    providers: z
      .array(
        z.object({
          providerId: z.string(),
          available: z.int(),
          reliability: z.number().min(0).max(1).openapi({
            description: 'The provider’s reliability score (GET /v1/providers/{id} shows its evidence)',
            example: 0.93,
          }),
        }),
      )
      .openapi({ description: 'Who has these GPUs, in the order placement takes them at this price: most reliable first' }),
  })
  .openapi('Offer');
export type OfferView = z.infer<typeof OfferView>;

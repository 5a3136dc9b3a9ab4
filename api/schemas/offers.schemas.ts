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
  })
  .openapi('Offer');
export type OfferView = z.infer<typeof OfferView>;

/** What a lease request would get now (POST /v1/estimates): the body is a LeaseRequest. */
import { z } from '../zod';

const Amount = z.string().openapi({ description: 'Payment token, exact decimal', example: '6.4' });

export const EstimateOffer = z
  .object({
    tier: z.int(),
    pricePerGpuHour: Amount,
    vramGb: z.int(),
    available: z.int(),
  })
  .openapi('EstimateOffer');

export const EstimateView = z
  .object({
    gpuModel: z.string(),
    gpuCount: z.int(),
    minTier: z.int(),
    maxPricePerGpuHour: Amount,
    durationSeconds: z.int().nullable().openapi({ description: 'null: open-ended' }),
    deposit: Amount.openapi({ description: 'What the escrow would lock at open: the price cap × GPUs for the current settlement period and the next K (or the whole duration when shorter), drawn from the allowance' }),
    available: z.int().openapi({ description: 'Matching GPUs free now (the model, this tier or better, at or under the cap)' }),
    offers: z.array(EstimateOffer).openapi({ description: 'The matching free GPUs by tier and price, cheapest first' }),
    placeableNow: z.boolean().openapi({ description: 'Enough matching GPUs are free now; a lease still reserves them only when created' }),
    pricesPerGpuHour: z.array(Amount).openapi({ description: 'The prices its GPUs would get, cheapest first as reservation picks' }),
    costPerHour: Amount.nullable().openapi({ description: 'At those prices; null when it cannot be placed now' }),
    costForDuration: Amount.nullable().openapi({ description: 'At those prices for the whole duration, rounded down per GPU as settlements are; null for an open-ended lease' }),
    shortage: z.string().nullable().openapi({ description: 'What is missing, when it cannot be placed now' }),
  })
  .openapi('Estimate');
export type EstimateView = z.infer<typeof EstimateView>;

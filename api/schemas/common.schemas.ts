/** Shapes shared by several resources: problems, token amounts, timestamps. */
import { InvalidAmountError, parseTokenAmount } from '../../domain/money';
import { z } from '../zod';

export const FieldError = z.object({ field: z.string(), message: z.string() }).openapi('FieldError');

/** RFC 9457 problem details, the body of every 4xx and 5xx answer. */
export const Problem = z
  .object({
    type: z.string().openapi({ example: 'urn:lease-engine:problem:validation' }),
    title: z.string().openapi({ example: 'request is invalid' }),
    status: z.int(),
    detail: z.string().openapi({ example: 'gpuCount: Too big: expected number to be <=64' }),
    errors: z.array(FieldError).optional(),
  })
  .openapi('Problem');

/**
 * A price in the payment token as a decimal string ("1.25"), never a JSON number: amounts are exact
 * and a float would round. Parsed to base units by domain/money so the rules live in one place.
 */
export const TokenAmount = z
  .string()
  .superRefine((value, ctx) => {
    let units: bigint;
    try {
      units = parseTokenAmount(value);
    } catch (err) {
      if (!(err instanceof InvalidAmountError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return;
    }
    if (units <= 0n) ctx.addIssue({ code: 'custom', message: 'must be greater than 0' });
  })
  .openapi('TokenAmount', { description: 'Decimal amount of the payment token (6 decimals at most)', example: '1.25' });

export const Timestamp = z.iso.datetime().nullable().openapi({ description: 'ISO 8601, UTC; null until it happens' });

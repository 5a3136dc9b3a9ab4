/** Shapes shared by several resources: problems, token amounts, timestamps. */
import { InvalidAmountError, parseTokenAmount } from '../../domain/money';
import { z } from '../zod';

/**
 * One event of a `text/event-stream` response, as OpenAPI 3.2 (and tools such as schemathesis that read
 * 3.1 the same way) model an event stream: `schema` describes each event, not the stream's text.
 */
export const ServerSentEvent = z.object({
  id: z.string().optional(),
  event: z.string().optional().openapi({ description: 'The event type; absent means `message`' }),
  data: z.string().openapi({ description: 'JSON text' }),
  retry: z.int().optional(),
});

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
 * Below 10^12 tokens: base units (10^-6) then fit PostgreSQL's bigint columns with room for sums, where
 * a larger price would make the insert fail with a 500 instead of a 400.
 */
const MAX_TOKEN_UNITS = 10n ** 18n - 1n;
/** What the checks below accept, for the OpenAPI document (so fuzzers and clients know it): > 0, whole part ≤ 12 digits. */
const TOKEN_AMOUNT_PATTERN = '^(?=[0-9.]*[1-9])0*[0-9]{1,12}(\\.[0-9]{1,6})?$';

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
    if (units > MAX_TOKEN_UNITS) ctx.addIssue({ code: 'custom', message: 'must be less than 1000000000000' });
  })
  .openapi('TokenAmount', {
    description: 'Decimal amount of the payment token (6 decimals at most), greater than 0 and less than 10^12',
    example: '1.25',
    pattern: TOKEN_AMOUNT_PATTERN,
  });

export const Timestamp = z.iso.datetime().nullable().openapi({ description: 'ISO 8601, UTC; null until it happens' });

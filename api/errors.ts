/**
 * Every failure leaves the API as `application/problem+json` (RFC 9457) through the one error
 * middleware at the end of the app: routes throw, this file decides the status and the words.
 */
import { isDatabaseUnavailable } from '../infra/db/connection';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { HostConflictError } from '../infra/db/repositories/hosts.repo';
import { LeaseNotRunningError, LeaseUpdateRejectedError } from './lease-orchestrator';

export interface FieldError {
  field: string;
  message: string;
}

export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
    /** RFC 9457 extension members, e.g. the amounts of a 402. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export const problems = {
  malformedJson: (detail: string) => new HttpProblem(400, 'malformed-json', 'malformed JSON body', detail),
  invalid: (errors: FieldError[]) =>
    new HttpProblem(400, 'validation', 'request is invalid', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors),
  unauthorized: (detail: string) =>
    new HttpProblem(401, 'unauthorized', 'not authenticated', detail, undefined, { 'WWW-Authenticate': 'Bearer' }),
  badSignature: (detail: string) => new HttpProblem(401, 'bad-signature', 'request signature rejected', detail),
  insufficientFunds: (detail: string, amounts: Record<string, string | null>) =>
    new HttpProblem(402, 'insufficient-funds', 'the wallet cannot cover the deposit', detail, undefined, {}, amounts),
  notFound: (detail: string) => new HttpProblem(404, 'not-found', 'not found', detail),
  conflict: (detail: string) => new HttpProblem(409, 'conflict', 'conflict', detail),
  tooManyRequests: (detail: string, retryAfterSeconds: number) =>
    new HttpProblem(429, 'too-many-requests', 'too many requests', detail, undefined, { 'Retry-After': String(retryAfterSeconds) }),
  unsupportedMediaType: (detail: string) => new HttpProblem(415, 'unsupported-media-type', 'unsupported media type', detail),
  unprocessable: (detail: string, errors?: FieldError[]) =>
    new HttpProblem(422, 'unprocessable', 'request cannot be carried out', detail, errors),
  unavailable: (detail: string) => new HttpProblem(503, 'unavailable', 'service unavailable', detail),
  /** Shed for load (api/report-admission.ts): the same request is welcome again after Retry-After seconds. */
  overloaded: (detail: string, retryAfterSeconds: number) =>
    new HttpProblem(503, 'overloaded', 'too busy: retry later', detail, undefined, { 'Retry-After': String(retryAfterSeconds) }),
};

/** `gpus[0].pricePerGpuHour`: the way a client would write the path to the field. */
function fieldName(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: fieldName([...issue.path, key]), message: 'unknown field' }));
    }
    if (issue.code === 'invalid_key') {
      const inner = issue.issues.map((i) => i.message).join('; ');
      return [{ field: fieldName(issue.path), message: `invalid name: ${inner}` }];
    }
    return [{ field: fieldName(issue.path), message: issue.message }];
  });
}

/** Parses or throws a 400 that names every failing field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = fieldErrors(result.error);
  throw problems.invalid(prefix ? errors.map((e) => ({ ...e, field: `${prefix}.${e.field}` })) : errors);
}

export const notFoundHandler: RequestHandler = (req) => {
  throw problems.notFound(`no route for ${req.method} ${req.path}`);
};

/** body-parser's errors carry `type`; map them to what the client did wrong. */
function fromBodyParser(err: { type?: unknown; message?: string; status?: unknown; limit?: unknown }): HttpProblem | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return problems.malformedJson(`malformed JSON body: ${err.message ?? 'cannot parse'}`);
    case 'entity.too.large':
      return new HttpProblem(413, 'too-large', 'request body too large', `request bodies are limited to ${typeof err.limit === 'number' ? Math.round(err.limit / 1024) : 64} kB`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return problems.unsupportedMediaType(err.message ?? 'unsupported encoding');
    case 'request.aborted':
      return new HttpProblem(400, 'aborted', 'request aborted', 'the client closed the request before its body arrived');
    default:
      return undefined;
  }
}

export function toProblem(err: unknown): HttpProblem | undefined {
  if (err instanceof HttpProblem) return err;
  if (err instanceof LeaseUpdateRejectedError) {
    return err.kind === 'invalid' ? problems.unprocessable(err.message) : problems.conflict(err.message);
  }
  if (err instanceof LeaseNotRunningError) return problems.conflict(err.message);
  if (err instanceof HostConflictError) return problems.conflict(err.message);
  if (isDatabaseUnavailable(err)) return problems.unavailable('the database does not answer; retry later (a request with an Idempotency-Key is safe to repeat)');
  if (typeof err === 'object' && err !== null) return fromBodyParser(err);
  return undefined;
}

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    let problem = toProblem(err);
    if (!problem) {
      logger.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
      problem = new HttpProblem(500, 'internal', 'internal error', 'the server failed to handle the request; it has been logged');
    }
    res
      .status(problem.status)
      .set(problem.headers)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: `urn:lease-engine:problem:${problem.slug}`,
          title: problem.title,
          status: problem.status,
          detail: problem.detail,
          ...(problem.errors ? { errors: problem.errors } : {}),
          ...problem.extensions,
        }),
      );
  };
}

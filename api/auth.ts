/**
 * Who is calling (DESIGN §8). Customers, providers and operators present API keys (`Authorization: Bearer`),
 * found by their sha256; hosts sign each request with their ed25519 key over the exact raw body.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Kysely } from 'kysely';
import {
  HOST_SIGNATURE_HEADERS,
  isFreshTimestamp,
  MAX_REQUEST_AGE_MS,
  verifyRequestSignature,
} from '../domain/signed-request';
import { nativeEd25519 } from '../infra/crypto/native-ed25519';
import { findCustomerByApiKey } from '../infra/db/repositories/customers.repo';
import { findOperatorByApiKey } from '../infra/db/repositories/operators.repo';
import { findProviderByApiKey } from '../infra/db/repositories/providers.repo';
import type { Customer, Database, Operator, Provider } from '../infra/db/schema';
import { problems } from './errors';

function bearerKey(req: Request): string {
  const header = req.get('authorization');
  if (!header) throw problems.unauthorized('missing API key: send "Authorization: Bearer <key>"');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw problems.unauthorized('malformed Authorization header: expected "Bearer <key>"');
  return match[1];
}

export function requireCustomer(db: Kysely<Database>): RequestHandler {
  return async (req, res, next) => {
    const customer = await findCustomerByApiKey(db, bearerKey(req));
    if (!customer) throw problems.unauthorized('invalid API key');
    res.locals.customer = customer;
    next();
  };
}

export function requireProvider(db: Kysely<Database>): RequestHandler {
  return async (req, res, next) => {
    const provider = await findProviderByApiKey(db, bearerKey(req));
    if (!provider) throw problems.unauthorized('invalid provider key');
    res.locals.provider = provider;
    next();
  };
}

/** Operators read the whole fleet and market; a customer's or provider's key is not one (401). */
export function requireOperator(db: Kysely<Database>): RequestHandler {
  return async (req, res, next) => {
    const operator = await findOperatorByApiKey(db, bearerKey(req));
    if (!operator) throw problems.unauthorized('invalid operator key (create one with `lease-engine operators create <name>`)');
    res.locals.operator = operator;
    next();
  };
}

export function currentOperator(res: Response): Operator {
  return res.locals.operator as Operator;
}

export function currentCustomer(res: Response): Customer {
  return res.locals.customer as Customer;
}

export function currentProvider(res: Response): Provider {
  return res.locals.provider as Provider;
}

/** The bytes the client sent, kept by the JSON parser: a signature covers them, not our re-encoding. */
export function rawBody(req: Request): Uint8Array {
  return (req as Request & { rawBody?: Buffer }).rawBody ?? new Uint8Array();
}

/**
 * Checks the host signature headers against `publicKey`; `hostId` is the host the request claims to
 * act for (the path or the body), which the signed x-host-id header must name.
 */
export function verifyHostRequest(req: Request, hostId: string, publicKey: string, now: number): void {
  const headerHostId = req.get(HOST_SIGNATURE_HEADERS.hostId);
  const timestamp = req.get(HOST_SIGNATURE_HEADERS.timestamp);
  const signature = req.get(HOST_SIGNATURE_HEADERS.signature);
  if (!headerHostId || !timestamp || !signature) {
    const names = Object.values(HOST_SIGNATURE_HEADERS).join(', ');
    throw problems.badSignature(`missing host signature: send the headers ${names}`);
  }
  if (headerHostId !== hostId) {
    throw problems.badSignature(`${HOST_SIGNATURE_HEADERS.hostId} "${headerHostId}" does not match host "${hostId}"`);
  }
  if (!isFreshTimestamp(timestamp, now)) {
    throw problems.badSignature(
      `${HOST_SIGNATURE_HEADERS.timestamp} must be unix ms within ${MAX_REQUEST_AGE_MS / 1000} s of the server clock`,
    );
  }
  const signed = { method: req.method, path: req.originalUrl, timestamp, body: rawBody(req) };
  if (!verifyRequestSignature(signed, signature, publicKey, nativeEd25519)) {
    throw problems.badSignature(`signature does not verify with the key of host ${hostId}`);
  }
}

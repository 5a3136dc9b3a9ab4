/**
 * JSON bodies: at most 64 kB, JSON media types only, and the raw bytes kept for signature checks
 * (a host signs what it sent, not what we would re-encode).
 */
import express from 'express';
import type { Request, RequestHandler } from 'express';
import { problems } from './errors';

export const MAX_BODY_BYTES = 64 * 1024;
const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * `req.is` answers null for a request without a body and false for a body of another type; it counts
 * `Content-Length: 0` as a body, which a bodiless POST (cancel) is not.
 */
const requireJsonType: RequestHandler = (req, _res, next) => {
  if (req.get('content-length') !== '0' && req.is(JSON_TYPES) === false) {
    throw problems.unsupportedMediaType(`request bodies must be application/json, not ${req.get('content-type') ?? 'untyped'}`);
  }
  next();
};

const parseJson = (limit: number) =>
  express.json({
    limit,
    type: JSON_TYPES,
    verify: (req, _res, buf) => {
      (req as Request & { rawBody?: Buffer }).rawBody = buf;
    },
  });

export const jsonBody: RequestHandler[] = [requireJsonType, parseJson(MAX_BODY_BYTES)];

/** For the one route whose bodies are larger by design (a host's report of many receipts). */
export const jsonBodyUpTo = (limit: number): RequestHandler[] => [requireJsonType, parseJson(limit)];

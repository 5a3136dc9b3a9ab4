/**
 * The web dashboard: plain HTML, CSS and ES modules under api/dashboard/, served as they are (no build
 * step). `/` is the page; everything else it loads lives under /dashboard/. The page holds the caller's
 * key in sessionStorage and speaks to the same /v1 routes as the CLI, so a strict Content-Security-Policy
 * (only this origin, no inline script or style) costs it nothing and keeps an injected string inert.
 */
import path from 'node:path';
import express, { Router } from 'express';
import type { RequestHandler } from 'express';

export const DASHBOARD_DIR = path.join(__dirname, 'dashboard');

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const pageHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Small files that change with the engine: revalidate rather than serve a stale module graph.
    'cache-control': 'no-cache',
  });
  next();
};

export function dashboardRouter(): Router {
  const router = Router();
  router.get('/', pageHeaders, (_req, res) => {
    res.sendFile(path.join(DASHBOARD_DIR, 'index.html'));
  });
  router.use('/dashboard', pageHeaders, express.static(DASHBOARD_DIR, { index: false, fallthrough: true, etag: true, lastModified: true }));
  return router;
}

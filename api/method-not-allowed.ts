/**
 * 405 for a method the API does not offer on a path it does serve (RFC 9110 §15.5.6), with the `Allow`
 * header, instead of the 404 the catch-all would give: a client that sent PUT where POST was meant
 * learns which methods there are. The paths and their methods are read from the OpenAPI document,
 * the contract every route is registered in, so the two cannot disagree.
 */
import type { RequestHandler } from 'express';
import { HttpProblem } from './errors';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface PathMethods {
  pattern: RegExp;
  allow: string[];
}

/** `/v1/leases/{id}` → /^\/v1\/leases\/[^/]+\/?$/ (express routes are not strict about a trailing slash). */
function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source.replace(/\/$/, '')}/?$`);
}

export function methodNotAllowed(document: { paths?: Record<string, object | undefined> }): RequestHandler {
  const paths: PathMethods[] = Object.entries(document.paths ?? {}).map(([template, item]) => {
    const declared = METHODS.filter((method) => item !== undefined && method in item).map((m) => m.toUpperCase());
    // Express answers HEAD wherever it answers GET.
    if (declared.includes('GET') && !declared.includes('HEAD')) declared.push('HEAD');
    return { pattern: templatePattern(template), allow: declared };
  });
  return (req, _res, next) => {
    const matching = paths.filter((p) => p.pattern.test(req.path));
    if (matching.length === 0 || matching.some((p) => p.allow.includes(req.method))) {
      next();
      return;
    }
    const allow = [...new Set(matching.flatMap((p) => p.allow))].join(', ');
    throw new HttpProblem(405, 'method-not-allowed', 'method not allowed', `${req.method} is not allowed on ${req.path}; allowed: ${allow}`, undefined, {
      Allow: allow,
    });
  };
}

// Bearer API keys with scopes. The operator (root) key manages orgs only; an
// org key acts inside its org, and `admin` implies every scope.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Scope } from '../store/orgs.js';
import { safeEqual } from '../store/orgs.js';
import type { Store } from '../store/index.js';
import { ProblemError } from './errors.js';

/** Who is calling. */
export type Principal = { kind: 'root' } | { kind: 'key'; orgId: string; keyId: string; scopes: Scope[] };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** How long a resolved key is trusted before it is looked up again (revocation in another process). */
const CACHE_MS = 10_000;
/** last_used_at is written at most this often per key. */
const TOUCH_MS = 60_000;

export interface AuthOptions {
  store: Store;
  rootKey?: string;
  now?: () => number;
}

const unauthorized = (detail: string) =>
  new ProblemError(401, detail, undefined, { 'www-authenticate': 'Bearer realm="opstrails"' });

/** Registers `app.authenticate` and clears the key cache on revocation. */
export const authPlugin = fp<AuthOptions>(async (app: FastifyInstance, opts) => {
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { principal: Principal; until: number }>();
  const touched = new Map<string, number>();

  async function resolve(token: string): Promise<Principal | undefined> {
    if (opts.rootKey && safeEqual(token, opts.rootKey)) return { kind: 'root' };
    const hit = cache.get(token);
    if (hit && hit.until > now()) return hit.principal;
    const key = await opts.store.keys.authenticate(token);
    if (!key) {
      cache.delete(token);
      return undefined;
    }
    const principal: Principal = { kind: 'key', orgId: key.org_id, keyId: key.id, scopes: key.scopes };
    cache.set(token, { principal, until: now() + CACHE_MS });
    if ((touched.get(key.id) ?? 0) + TOUCH_MS < now()) {
      touched.set(key.id, now());
      await opts.store.keys.touch(key.org_id, key.id, now());
    }
    return principal;
  }

  app.decorate('authenticate', async (req: FastifyRequest) => {
    const header = req.headers.authorization;
    if (!header) throw unauthorized('missing Authorization header: send "Authorization: Bearer <api key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw unauthorized('the Authorization header must be "Bearer <api key>"');
    const principal = await resolve(m[1]);
    if (!principal) throw unauthorized('the API key is not valid or has been revoked');
    req.principal = principal;
  });
  app.decorate('forgetKeys', () => cache.clear());

  // The scope a route documents is checked before its input is validated: a key that may
  // not call a route is told so (403), not the shape of the route's input (400).
  app.addHook('onRoute', (route) => {
    const scope = route.config?.doc?.scope;
    if (!scope) return;
    const check = async (req: FastifyRequest) => {
      if (scope === 'root') requireRoot(req);
      else requireOrg(req, scope);
    };
    route.preValidation = [...[route.preValidation ?? []].flat(), check] as typeof route.preValidation;
  });
});

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(req: FastifyRequest): Promise<void>;
    /** Drop cached key lookups (after a revocation). */
    forgetKeys(): void;
  }
}

/** The org of an org-key caller that holds `scope` (admin holds all); otherwise 403. */
export function requireOrg(req: FastifyRequest, scope: Scope): string {
  const p = req.principal;
  if (!p) throw unauthorized('not authenticated');
  if (p.kind === 'root') throw new ProblemError(403, 'the operator key manages orgs only; use an org API key');
  if (!p.scopes.includes(scope) && !p.scopes.includes('admin')) {
    throw new ProblemError(403, `this API key lacks the "${scope}" scope`);
  }
  return p.orgId;
}

/** Require the operator key; otherwise 403. */
export function requireRoot(req: FastifyRequest): void {
  if (req.principal?.kind !== 'root')
    throw new ProblemError(403, 'only the operator key (OPSTRAILS_ROOT_KEY) may do this');
}

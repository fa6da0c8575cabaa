// Bearer API keys with scopes. The operator (root) key manages orgs only; an
// org key acts inside its org, and `admin` implies every scope.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { KeyRevocation, Scope } from '../store/orgs.js';
import { safeEqual } from '../store/orgs.js';
import type { Store } from '../store/index.js';
import { ChangeFeed } from './change-feed.js';
import { ProblemError } from './errors.js';
import { Lru } from './lru.js';

/** Who is calling. */
export type Principal = { kind: 'root' } | { kind: 'key'; orgId: string; keyId: string; scopes: Scope[] };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** last_used_at is written at most this often per key. */
const TOUCH_MS = 60_000;
/**
 * A cached key is trusted only while the revocation feed was checked this recently; past it
 * (the store unreachable) every request looks its key up again. Checks run once a second,
 * so a revocation elsewhere takes effect here within about 1–2 s (at most this bound).
 */
export const KEY_FRESH_MS = 5_000;
/** Most resolved keys kept (least recently used leave first). */
export const KEY_CACHE_ENTRIES = 10_000;

export interface AuthOptions {
  store: Store;
  rootKey?: string;
  now?: () => number;
  /** Revocation feed tuning (tests): check interval and overlap, ms. */
  revocationCheck?: { intervalMs?: number; overlapMs?: number };
}

const unauthorized = (detail: string) =>
  new ProblemError(401, detail, undefined, { 'www-authenticate': 'Bearer realm="opstrails"' });

type KeyPrincipal = Extract<Principal, { kind: 'key' }>;

/**
 * Registers `app.authenticate` and `app.forgetKeys`. Resolved keys are cached without a
 * time limit: a revocation here clears the cache (forgetKeys), one made by another replica is
 * found by a check of the keys revoked since a watermark, once a second.
 */
export const authPlugin = fp<AuthOptions>(async (app: FastifyInstance, opts) => {
  const now = opts.now ?? Date.now;
  const cache = new Lru<string, KeyPrincipal>({ maxEntries: KEY_CACHE_ENTRIES });
  const touched = new Map<string, number>();
  /** Bumped by every revocation: a lookup that started before one is not cached. */
  let revocations = 0;
  const forget = (keyId?: string) => {
    revocations++;
    if (keyId === undefined) cache.clear();
    else cache.deleteWhere((p) => p.keyId === keyId);
  };
  const feed = new ChangeFeed<KeyRevocation>({
    read: (since, limit) => opts.store.keys.revokedSince(since, limit),
    identify: (r) => ({ key: `${r.key_id}\u0000${r.at}`, at: r.at }),
    apply: (revoked, complete) => {
      if (!complete) forget();
      for (const r of revoked) {
        forget(r.key_id);
        touched.delete(r.key_id);
      }
    },
    now,
    onError: (err) =>
      app.log.warn(
        { err: String(err) },
        'revoked-key check failed; keys are looked up on every request until it works',
      ),
    ...opts.revocationCheck,
  });
  /** Writes of last_used_at under way (closing waits for them, so the store is not closed under one). */
  const touching = new Set<Promise<void>>();
  feed.start();
  app.addHook('onClose', async () => {
    await feed.stop();
    await Promise.all([...touching]);
  });

  /** Record use at most once a minute per key, off the request's path (a failure is only logged). */
  function touch(p: KeyPrincipal): void {
    if ((touched.get(p.keyId) ?? 0) + TOUCH_MS >= now()) return;
    touched.set(p.keyId, now());
    const write = opts.store.keys
      .touch(p.orgId, p.keyId, now())
      .catch((err: unknown) => app.log.warn({ err: String(err), key_id: p.keyId }, 'recording key use failed'))
      .finally(() => touching.delete(write));
    touching.add(write);
  }

  async function resolve(token: string): Promise<Principal | undefined> {
    // A cached token is an org key (the root key is never cached): the hot path hashes nothing.
    const hit = feed.isFresh(KEY_FRESH_MS) ? cache.get(token) : undefined;
    if (hit) {
      touch(hit);
      return hit;
    }
    if (opts.rootKey && safeEqual(token, opts.rootKey)) return { kind: 'root' };
    const seen = revocations;
    const key = await opts.store.keys.authenticate(token);
    if (!key) {
      cache.delete(token);
      return undefined;
    }
    const principal: KeyPrincipal = { kind: 'key', orgId: key.org_id, keyId: key.id, scopes: key.scopes };
    // A revocation applied while the key was looked up may be the one the lookup missed.
    if (seen === revocations) cache.set(token, principal);
    touch(principal);
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
  app.decorate('forgetKeys', () => forget());

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
    /** Drop cached key lookups (after a revocation: it takes effect on this process at once). */
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

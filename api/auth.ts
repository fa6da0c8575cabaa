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
import { describeRate, TokenBuckets, tooMany, type Rate } from './rate-limit.js';

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
  /** Failed authentications per client address; absent: not limited. */
  authFailureLimit?: Rate;
  /** Requests per key (the operator key counts as one); absent: not limited. */
  keyLimit?: Rate;
  /** The limits' clock (default: now). */
  limitClock?: () => number;
  /** How long a blocked address's 429 is held before it is sent (see BLOCKED_HOLD_MS). */
  blockedHoldMs?: number;
}

/**
 * A 429 to a blocked address is sent after this long (never later than its Retry-After): a
 * client that waits for answers, as a flood of guessed keys over a few connections does, then
 * sends one request a second per connection instead of thousands, and the service's event loop
 * stays with real callers. Holding costs a timer; past MAX_HELD held answers they go out at once.
 */
export const BLOCKED_HOLD_MS = 1_000;
const MAX_HELD = 1_000;

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

  const limitClock = opts.limitClock ?? now;
  const failures = new TokenBuckets<string>(limitClock);
  const requests = new TokenBuckets<string>(limitClock);
  const { authFailureLimit, keyLimit } = opts;

  const holdMs = opts.blockedHoldMs ?? BLOCKED_HOLD_MS;
  let held = 0;
  /**
   * Take one of this address's failures before a key is looked up (a flood then costs no hashing
   * or store read, and concurrent attempts cannot all pass); 429 when none is left. A success
   * (or a lookup that could not run) gives it back (`uncount`): only failures count.
   */
  async function checkFailures(address: string): Promise<void> {
    if (!authFailureLimit) return;
    let wait = failures.take(address, authFailureLimit);
    if (wait > 0) {
      if (holdMs > 0 && held < MAX_HELD) {
        held++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(holdMs, wait * 1000)));
        held--;
        // Still refused after the hold (letting held attempts through at once would make a burst); Retry-After from now.
        wait = Math.max(failures.wait(address, authFailureLimit), 1);
      }
      throw tooMany(
        `too many failed authentications from this address (limit ${describeRate(authFailureLimit)}, bursts of ${authFailureLimit.burst})`,
        authFailureLimit,
        wait,
      );
    }
  }
  const uncount = (address: string) => {
    if (authFailureLimit) failures.refund(address, authFailureLimit);
  };

  async function resolve(token: string, address: string): Promise<Principal | undefined> {
    // A cached token is an org key (the root key is never cached): the hot path hashes nothing,
    // and a valid key keeps working from an address that others' failures have blocked.
    const hit = feed.isFresh(KEY_FRESH_MS) ? cache.get(token) : undefined;
    if (hit) {
      touch(hit);
      return hit;
    }
    if (opts.rootKey && safeEqual(token, opts.rootKey)) return { kind: 'root' };
    await checkFailures(address);
    const seen = revocations;
    const key = await opts.store.keys.authenticate(token).catch((err: unknown) => {
      uncount(address);
      throw err;
    });
    if (!key) {
      cache.delete(token);
      return undefined;
    }
    uncount(address);
    const principal: KeyPrincipal = { kind: 'key', orgId: key.org_id, keyId: key.id, scopes: key.scopes };
    // A revocation applied while the key was looked up may be the one the lookup missed.
    if (seen === revocations) cache.set(token, principal);
    touch(principal);
    return principal;
  }

  app.decorate('authenticate', async (req: FastifyRequest) => {
    const header = req.headers.authorization;
    const address = req.ip;
    // No credential is no attempt: it costs nothing and is not counted.
    if (!header) throw unauthorized('missing Authorization header: send "Authorization: Bearer <api key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) {
      await checkFailures(address);
      throw unauthorized('the Authorization header must be "Bearer <api key>"');
    }
    const principal = await resolve(m[1], address);
    if (!principal) throw unauthorized('the API key is not valid or has been revoked');
    if (keyLimit) {
      const wait = requests.take(principal.kind === 'root' ? 'root' : principal.keyId, keyLimit);
      if (wait > 0) {
        throw tooMany(
          `this API key is over its request limit (${describeRate(keyLimit)}, bursts of ${keyLimit.burst})`,
          keyLimit,
          wait,
        );
      }
    }
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

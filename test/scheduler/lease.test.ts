// The scheduler lease among replicas on one real store (chDB): exactly one holder at a
// time, racing claimers agree on it, a holder that gives up hands over at once, and one
// that dies (stops renewing without a word) is taken over only after its claim expired.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lease, winnerOf } from '../../scheduler/lease.js';
import type { Store } from '../../store/index.js';
import { testStore } from '../support/store.js';
import { silentLogger } from './support.js';

// Generous against a loaded machine: a claim whose read-to-insert exceeds SETTLE is given up.
const TTL = 2_000;
const SETTLE = 400;
const SKEW = 300;

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

interface Replica {
  lease: Lease;
  /** Every change of holding, with when it happened. */
  changes: { holding: boolean; at: number }[];
}

function replica(name: string, id: string): Replica {
  const changes: Replica['changes'] = [];
  const lease = new Lease({
    repo: store.leases,
    name,
    holder: id,
    ttlMs: TTL,
    settleMs: SETTLE,
    skewMs: SKEW,
    logger: silentLogger,
    onChange: (holding) => void changes.push({ holding, at: Date.now() }),
  });
  return { lease, changes };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sample who holds the lease every few ms for `ms`; returns the most holders seen at once and the holder ids seen. */
async function watch(replicas: Record<string, Replica>, ms: number): Promise<{ most: number; holders: Set<string> }> {
  let most = 0;
  const holders = new Set<string>();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const now = Object.entries(replicas).filter(([, r]) => r.lease.holds());
    most = Math.max(most, now.length);
    for (const [id] of now) holders.add(id);
    await sleep(5);
  }
  return { most, holders };
}

describe('scheduler lease', () => {
  it('picks the smallest holder id among the claims of the highest term', () => {
    expect(
      winnerOf([
        { term: 3, holder: 'b', expiresAt: 1 },
        { term: 3, holder: 'a', expiresAt: 2 },
      ])?.holder,
    ).toBe('a');
    expect(winnerOf([])).toBeUndefined();
  });

  it('three replicas racing for a fresh lease: exactly one holds it, and keeps it while it renews', async () => {
    const replicas = { r1: replica('race', 'r1'), r2: replica('race', 'r2'), r3: replica('race', 'r3') };
    const results = await Promise.all(Object.values(replicas).map((r) => r.lease.round()));
    expect(results.filter(Boolean)).toHaveLength(1);
    for (const r of Object.values(replicas)) r.lease.start();
    const seen = await watch(replicas, 3 * TTL);
    expect(seen.most).toBe(1);
    expect(seen.holders.size).toBe(1);
    for (const r of Object.values(replicas)) await r.lease.stop();
  });

  it('a holder that stops gives the lease up: another replica takes over without waiting for the TTL', async () => {
    const a = replica('handover', 'a');
    const b = replica('handover', 'b');
    expect(await a.lease.round()).toBe(true);
    expect(await b.lease.round()).toBe(false);
    await a.lease.stop();
    expect(a.changes.map((c) => c.holding)).toEqual([true, false]);
    const before = Date.now();
    // The released claim expired "now": b waits only the skew allowance, then claims.
    await sleep(SKEW + 20);
    let took = await b.lease.round();
    while (!took && Date.now() - before < TTL) took = await b.lease.round();
    expect(took).toBe(true);
    expect(Date.now() - before).toBeLessThan(TTL);
    await b.lease.stop();
  });

  it('a dead holder (no renewal, no release) is taken over only after its claim expired, and never two hold at once', async () => {
    const dead = replica('crash', 'a-dead');
    const live = replica('crash', 'b-live');
    // The claim's expiry counts from the start of the round that made it.
    const claimedAt = Date.now();
    expect(await dead.lease.round()).toBe(true);
    // The dead replica never renews; it stops acting at its own deadline (ttl - skew).
    live.lease.start();
    const seen = await watch({ dead, live }, 2.5 * TTL);
    expect(seen.most).toBe(1);
    expect(dead.changes.map((c) => c.holding)).toEqual([true, false]);
    const takeover = live.changes.find((c) => c.holding);
    expect(takeover).toBeDefined();
    expect(takeover!.at - claimedAt).toBeGreaterThanOrEqual(TTL + SKEW);
    expect(dead.changes[1].at).toBeLessThanOrEqual(takeover!.at);
    await live.lease.stop();
  });

  it('a replica whose claim lost the term does not act, and renews nothing', async () => {
    const x = replica('lost', 'x');
    const y = replica('lost', 'y');
    const [rx, ry] = await Promise.all([x.lease.round(), y.lease.round()]);
    expect([rx, ry].filter(Boolean)).toHaveLength(1);
    const [claims] = [await store.leases.current('lost')];
    expect(new Set(claims.map((c) => c.term)).size).toBe(1);
    const winner = rx ? x : y;
    const loser = rx ? y : x;
    expect(loser.lease.holds()).toBe(false);
    expect(await loser.lease.round()).toBe(false);
    expect(winner.lease.holds()).toBe(true);
    await winner.lease.stop();
    await loser.lease.stop();
  });
});

// A bounded in-process cache: once either the entry count or the total size (as the
// caller weighs entries) is over its limit, entries not used lately leave first.

/** Limits of an Lru: entries, and total weight (e.g. characters held). */
export interface LruLimits {
  maxEntries: number;
  /** Largest total weight; an entry heavier than this on its own is not kept. Default: unbounded. */
  maxWeight?: number;
}

interface Slot<V> {
  value: V;
  weight: number;
  /** Used since it was last passed over by eviction (the second chance). */
  used: boolean;
}

/**
 * Least-recently-used, approximated by second chance (CLOCK): a hit only marks the entry,
 * so the hot path never reorders the Map; eviction walks from the oldest insert, moves a
 * marked entry to the back (unmarked) and drops the first unmarked one.
 */
export class Lru<K, V> {
  private readonly slots = new Map<K, Slot<V>>();
  private totalWeight = 0;

  constructor(private readonly limits: LruLimits) {}

  /** The value under `key` (now marked as used); undefined when absent. */
  get(key: K): V | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    slot.used = true;
    return slot.value;
  }

  /** Keep `value` under `key` (replacing any), then drop entries over the limits. */
  set(key: K, value: V, weight = 0): void {
    this.delete(key);
    if (this.limits.maxWeight !== undefined && weight > this.limits.maxWeight) return;
    this.slots.set(key, { value, weight, used: false });
    this.totalWeight += weight;
    const maxWeight = this.limits.maxWeight ?? Infinity;
    while (this.slots.size > this.limits.maxEntries || this.totalWeight > maxWeight) {
      const [oldest, slot] = this.slots.entries().next().value!;
      this.slots.delete(oldest);
      if (slot.used && oldest !== key) {
        slot.used = false;
        this.slots.set(oldest, slot);
      } else {
        this.totalWeight -= slot.weight;
      }
    }
  }

  delete(key: K): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.slots.delete(key);
    this.totalWeight -= slot.weight;
  }

  /** Drop every entry whose value matches. */
  deleteWhere(match: (value: V, key: K) => boolean): void {
    for (const [key, slot] of this.slots) if (match(slot.value, key)) this.delete(key);
  }

  clear(): void {
    this.slots.clear();
    this.totalWeight = 0;
  }

  get size(): number {
    return this.slots.size;
  }

  /** The total weight held. */
  get weight(): number {
    return this.totalWeight;
  }
}

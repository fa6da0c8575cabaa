// Reusable Float64 scratch memory for the hot paths: a 60-bucket window allocated as its own
// Float64Array costs an off-heap buffer and a GC finaliser; views into one block do not.
// Users mark() before taking views and release() when none of them can be read any more.

let block = new Float64Array(1 << 16);
let used = 0;

/** A zero-filled view of n doubles, valid until the matching release(). */
export function take(n: number): Float64Array {
  if (used + n > block.length) {
    // Views already handed out keep the old block alive; new ones come from a fresh one.
    block = new Float64Array(Math.max(block.length * 2, n));
    used = 0;
  }
  const v = block.subarray(used, used + n);
  used += n;
  v.fill(0);
  return v;
}

/** The current position, to release() back to. */
export function mark(): number {
  return used;
}

/** Frees every view taken since mark() returned `at`. */
export function release(at: number): void {
  // After a block change the old marks point into the previous block: start the new one afresh.
  used = at <= used ? at : 0;
}

/**
 * A virtual clock for simulations: `sleep(ms)` resolves when the simulated time reaches it, and
 * `run()` advances time from one timer to the next, letting every coroutine run until it sleeps
 * again. Minutes of retries simulate in milliseconds, in a deterministic order.
 */
export class VirtualClock {
  now = 0;
  private heap: { at: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.push({ at: this.now + Math.max(0, ms), seq: this.seq++, resolve });
    });
  }

  /** Runs until no timer is left (every coroutine finished or waits on something else). */
  async run(): Promise<void> {
    await settle();
    while (this.heap.length > 0) {
      const first = this.pop();
      this.now = first.at;
      first.resolve();
      while (this.heap.length > 0 && (this.heap[0]?.at ?? Number.POSITIVE_INFINITY) === first.at) {
        this.pop().resolve();
      }
      await settle();
    }
  }

  private push(t: { at: number; seq: number; resolve: () => void }): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i] as typeof t, h[p] as typeof t)) break;
      [h[i], h[p]] = [h[p] as typeof t, h[i] as typeof t];
      i = p;
    }
  }

  private pop(): { at: number; seq: number; resolve: () => void } {
    const h = this.heap;
    const top = h[0] as (typeof h)[number];
    const last = h.pop() as (typeof h)[number];
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as typeof top, h[m] as typeof top)) m = l;
        if (r < h.length && before(h[r] as typeof top, h[m] as typeof top)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as typeof top, h[i] as typeof top];
        i = m;
      }
    }
    return top;
  }
}

function before(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets every pending promise continuation run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A seeded generator of numbers in [0, 1) (mulberry32): the same seed, the same run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A token bucket (EC2's request throttling, Slack's rate): starts full, refills continuously. */
export class TokenBucket {
  private tokens: number;
  private at = 0;
  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
  ) {
    this.tokens = capacity;
  }

  /** Takes a token at `now` (ms) if one is there. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token will be there. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.refillPerSecond) * 1000;
  }

  private refill(now: number): void {
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.at) / 1000) * this.refillPerSecond,
    );
    this.at = now;
  }
}

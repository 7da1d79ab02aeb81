// The minibatch plan that coordinator and workers derive alike from an Assignment:
// the shuffled sample order of an epoch and each rank's share of a global minibatch.
// Both sides must compute it bit for bit the same, so it lives with the wire contract.

/** A small, fast, seedable PRNG (mulberry32); returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The order in which an epoch visits samples 0..n-1: a Fisher-Yates shuffle seeded by (seed, epoch). */
export function epochOrder(seed: number, epoch: number, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = seededRandom((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77)) >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * Splits `batchSize` samples across ranks in proportion to `shares` (largest remainder,
 * ties to the lower rank), so the counts always sum to `batchSize`.
 */
export function splitBatch(batchSize: number, shares: readonly number[]): number[] {
  if (shares.length === 0) throw new RangeError('splitBatch: no ranks');
  const total = shares.reduce((a, b) => a + b, 0);
  if (!(total > 0) || shares.some((s) => !(s >= 0))) throw new RangeError('splitBatch: shares must be non-negative with a positive sum');
  const exact = shares.map((s) => (batchSize * s) / total);
  const counts = exact.map(Math.floor);
  let left = batchSize - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    counts[i]! += 1;
    left -= 1;
  }
  return counts;
}

/** Steps in one epoch of `n` samples with global batch `batchSize` (the last batch may be short). */
export function stepsPerEpoch(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

/** Where the samples of one rank for one step come from. */
export interface StepSlice {
  epoch: number;
  /** Step number within the whole job, from 0. */
  step: number;
  /** Samples in the whole global minibatch of this step. */
  globalCount: number;
  /** Indices (into the training set) of this rank's samples. */
  indices: Uint32Array;
}

/** The slice of global step `step` that `rank` trains on. */
export function stepSlice(opts: {
  seed: number;
  n: number;
  batchSize: number;
  shares: readonly number[];
  rank: number;
  step: number;
  order?: Uint32Array;
}): StepSlice {
  const perEpoch = stepsPerEpoch(opts.n, opts.batchSize);
  const epoch = Math.floor(opts.step / perEpoch);
  const inEpoch = opts.step % perEpoch;
  const order = opts.order ?? epochOrder(opts.seed, epoch, opts.n);
  const start = inEpoch * opts.batchSize;
  const globalCount = Math.min(opts.batchSize, opts.n - start);
  const counts = splitBatch(globalCount, opts.shares);
  let offset = start;
  for (let r = 0; r < opts.rank; r++) offset += counts[r]!;
  return { epoch, step: opts.step, globalCount, indices: order.slice(offset, offset + counts[opts.rank]!) };
}

/**
 * Integer shares in proportion to each rank's speed (any unit), summing to about `scale`, at
 * least 1 each: how the coordinator seeds a job's split and how workers rebalance it.
 */
export function sharesFromSpeeds(speeds: readonly number[], scale = 1000): number[] {
  const total = speeds.reduce((a, b) => a + b, 0);
  return speeds.map((s) => Math.max(1, Math.round((scale * s) / total)));
}

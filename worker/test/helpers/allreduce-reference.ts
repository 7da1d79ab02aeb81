// What every all-reduce test compares against: the rank-ordered float64 sum rounded once to float32,
// checked bit for bit; plus reproducible test inputs spanning many magnitudes.

export function referenceSum(inputs: readonly Float32Array[]): Float32Array {
  const sums = new Float64Array(inputs[0]?.length ?? 0);
  for (const input of inputs) {
    for (let i = 0; i < sums.length; i++) sums[i]! += input[i]!;
  }
  return new Float32Array(sums);
}

/** Throws naming the first differing element; bitwise, so -0 ≠ 0 and NaN payloads count. */
export function assertSameBits(actual: Float32Array, expected: Float32Array, label: string): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  }
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) throw new Error(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

/** mulberry32: tiny seeded PRNG, so a failing fast-check seed reproduces the same data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Floats over ~60 binary orders of magnitude with the odd extreme one, so sums cancel and round
 * differently depending on order: a rank-order bug shows up as a bit difference.
 */
export function randomFloats(length: number, random: () => number): Float32Array {
  const values = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const exponent = random() < 1 / 16 ? random() * 250 - 125 : Math.floor(random() * 60 - 30);
    values[i] = (random() * 2 - 1) * 2 ** exponent;
  }
  return values;
}

/** First element of shard `shard` of `shards` over `length` elements: the cut every rank agrees on. */
export function shardStart(shard: number, shards: number, length: number): number {
  return Math.floor((shard * length) / shards);
}

/**
 * The ring's order: shard g (owned by rank g) summed in float64 from +0 as x[g+1] + x[g+2] + … + x[g]
 * (ranks mod N), then rounded once.
 */
export function ringOrderSum(inputs: readonly Float32Array[]): Float32Array {
  const n = inputs.length;
  const length = inputs[0]?.length ?? 0;
  const out = new Float32Array(length);
  for (let shard = 0; shard < n; shard++) {
    for (let i = shardStart(shard, n, length); i < shardStart(shard + 1, n, length); i++) {
      let sum = 0;
      for (let k = 1; k <= n; k++) sum += inputs[(shard + k) % n]![i]!;
      out[i] = sum;
    }
  }
  return out;
}

/** Σ|x| per element, in float64: the scale of every summation error bound. */
export function absSum(inputs: readonly Float32Array[]): Float64Array {
  const sums = new Float64Array(inputs[0]?.length ?? 0);
  for (const input of inputs) {
    for (let i = 0; i < sums.length; i++) sums[i]! += Math.abs(input[i]!);
  }
  return sums;
}

/** Distance from |v| to the next float32 up (2^-149 at the bottom of the range). */
export function ulp32(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/**
 * Throws naming the first element where |actual − expected| > bound(i). `expected` is exact or float64.
 */
export function assertWithin(
  actual: Float32Array,
  expected: ArrayLike<number>,
  bound: (i: number) => number,
  label: string,
): void {
  if (actual.length !== expected.length) throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const error = Math.abs(actual[i]! - expected[i]!);
    if (!(error <= bound(i))) {
      throw new Error(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]} ± ${bound(i)} (off by ${error})`);
    }
  }
}

/** Uniform floats in (−2^maxExponent, 2^maxExponent) over a few orders of magnitude: safe for float16. */
export function moderateFloats(length: number, random: () => number, maxExponent = 8): Float32Array {
  const values = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    values[i] = (random() * 2 - 1) * 2 ** Math.floor(random() * (maxExponent + 12) - 12);
  }
  return values;
}

// The numbers each all-reduce algorithm produces, over the in-memory bus with reordered and duplicated
// deliveries: uncompressed results bit for bit against a local float64 sum, compressed ones within
// their stated bounds, int8 error feedback over many steps, the traffic each algorithm puts on the
// wire, and the automatic choice.
import test from 'ava';
import fc from 'fast-check';
import { HEADER_BYTES } from '../src/allreduce/messages.js';
import { AlgorithmName, type Compression } from '../src/allreduce/round.js';
import { communicationOptions, DIRECT_MAX_BYTES, selectAlgorithm } from '../src/allreduce/select.js';
import {
  absSum,
  assertSameBits,
  assertWithin,
  moderateFloats,
  randomFloats,
  referenceSum,
  ringOrderSum,
  seededRandom,
  ulp32,
} from './helpers/allreduce-reference.js';
import { closeWorld, createWorld, runSteps, sleep } from './helpers/world.js';

/** The float64 rank-order sum, unrounded: "exact" at the scale of the compressed bounds. */
function sum64(inputs: readonly Float32Array[]): Float64Array {
  const sums = new Float64Array(inputs[0]?.length ?? 0);
  for (const input of inputs) for (let i = 0; i < sums.length; i++) sums[i]! += input[i]!;
  return sums;
}

function assertAllRanksSame(results: readonly Float32Array[], label: string): void {
  results.forEach((result, rank) => assertSameBits(result, results[0]!, `${label}: rank ${rank} vs rank 0`));
}

const worldParams = {
  worldSize: fc.integer({ min: 1, max: 6 }),
  length: fc.oneof(fc.constantFrom(0, 1, 2, 5), fc.integer({ min: 0, max: 4000 })),
  chunkElements: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 17, max: 5000 })),
  slackBytes: fc.integer({ min: 0, max: 7 }),
  reorder: fc.boolean(),
  duplicateRate: fc.constantFrom(0, 0.3),
  seed: fc.integer(),
  startDelays: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 6, maxLength: 6 }),
  // 1 byte: windows of one chunk per stream; 4 KiB: a few; default: wider than any buffer here.
  maxInFlightBytes: fc.constantFrom(1, 4096, undefined),
};

/** Capping the chunk count keeps a run fast; tiny chunks are still exercised on short buffers. */
function maxChunkBytesFor(p: { length: number; chunkElements: number; slackBytes: number }): number {
  return HEADER_BYTES + Math.max(p.chunkElements, Math.ceil(p.length / 150)) * 8 + p.slackBytes;
}

for (const algorithm of AlgorithmName) {
  const order = algorithm === 'ring' ? 'the ring-order' : 'the rank-order';
  test(`${algorithm}: every rank gets the same bits, equal to ${order} float64 sum rounded once`, async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.record({ ...worldParams, steps: fc.integer({ min: 1, max: 3 }) }), async (p) => {
        const maxChunkBytes = maxChunkBytesFor(p);
        const random = seededRandom(p.seed);
        const world = createWorld(p.worldSize, {
          algorithm,
          maxChunkBytes,
          maxInFlightBytes: p.maxInFlightBytes,
          server: { reorder: p.reorder, duplicateRate: p.duplicateRate, random },
        });
        try {
          const inputs = Array.from({ length: p.steps }, () =>
            Array.from({ length: p.worldSize }, () => randomFloats(p.length, random)),
          );
          const results = await runSteps(world, inputs, p.startDelays);
          for (const [step, perRank] of results.entries()) {
            const expected = algorithm === 'ring' ? ringOrderSum(inputs[step]!) : referenceSum(inputs[step]!);
            perRank.forEach((result, rank) => assertSameBits(result, expected, `step ${step} rank ${rank}`));
            if (algorithm === 'ring') assertRingBound(perRank[0]!, inputs[step]!);
          }
          for (const bus of world.buses) {
            if (bus.largest > maxChunkBytes) throw new Error(`a ${bus.largest}-byte message exceeds ${maxChunkBytes}`);
          }
        } finally {
          closeWorld(world);
        }
      }),
      { numRuns: 50 },
    );
    t.pass();
  });
}

/**
 * The ring's stated bound against the rank-order sum: both float64 sums are within (N−1)·2^-53·Σ|x| of
 * the exact sum, and each rounds once to float32.
 */
function assertRingBound(ring: Float32Array, inputs: readonly Float32Array[]): void {
  const n = inputs.length;
  const rankOrder = referenceSum(inputs);
  const scale = absSum(inputs);
  for (let i = 0; i < ring.length; i++) {
    if (Object.is(ring[i], rankOrder[i])) continue;
    const bound = 2 * (n - 1) * 2 ** -53 * scale[i]! * 1.01 + ulp32(Math.max(Math.abs(ring[i]!), Math.abs(rankOrder[i]!)));
    const error = Math.abs(ring[i]! - rankOrder[i]!);
    if (!(error <= bound)) throw new Error(`ring element ${i}: ${ring[i]} vs rank order ${rankOrder[i]}, off by ${error} > ${bound}`);
  }
}

test('values that span more than float64 can add exactly show the ring order differ from rank order, within the bound', async (t) => {
  // Element 0 is in shard 0, which the ring sums as ranks 1, 2, 0: 2^60 − 2^60 + 1 = 1, where rank order
  // gives 1 + 2^60 − 2^60 = 0 (1 + 2^60 rounds to 2^60 in float64).
  const inputs = [new Float32Array([1, 0, 0]), new Float32Array([2 ** 60, 0, 0]), new Float32Array([-(2 ** 60), 0, 0])];
  const world = createWorld(3, { algorithm: 'ring' });
  try {
    const [results] = await runSteps(world, [inputs]);
    assertAllRanksSame(results!, 'ring');
    t.is(results![0]![0], 1);
    t.is(referenceSum(inputs)[0], 0);
    assertSameBits(results![0]!, ringOrderSum(inputs), 'ring order');
    assertRingBound(results![0]!, inputs);
  } finally {
    closeWorld(world);
  }
});

/**
 * Stated fp16 bounds, with u = 2^-11 the unit roundoff of float16 and S = Σ|x| (values within ±65504):
 * direct rounds each input once, |err| ≤ u·S (+ the float32 rounding); sharded rounds the N − 1 inputs
 * that travel and the result once, |err| ≤ 2u·S; ring rounds the partial sum at each of its N steps,
 * |err| ≤ N·u·S. Float16 subnormals add up to 2^-25 per rounding.
 */
const FP16_ROUNDINGS: Readonly<Record<AlgorithmName, (worldSize: number) => number>> = {
  direct: () => 1,
  sharded: () => 2,
  ring: (worldSize) => worldSize,
};

for (const algorithm of AlgorithmName) {
  test(`${algorithm} with fp16: every rank gets the same bits, within the stated bound of the exact sum`, async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.record({ ...worldParams, worldSize: fc.integer({ min: 2, max: 6 }) }), async (p) => {
        const random = seededRandom(p.seed);
        const world = createWorld(p.worldSize, {
          algorithm,
          compression: 'fp16',
          maxChunkBytes: maxChunkBytesFor(p),
          maxInFlightBytes: p.maxInFlightBytes,
          server: { reorder: p.reorder, duplicateRate: p.duplicateRate, random },
        });
        try {
          const inputs = [Array.from({ length: p.worldSize }, () => moderateFloats(p.length, random))];
          const [results] = await runSteps(world, inputs, p.startDelays);
          assertAllRanksSame(results!, 'fp16');
          const scale = absSum(inputs[0]!);
          const roundings = FP16_ROUNDINGS[algorithm](p.worldSize);
          const bound = (i: number) => (roundings * 2 ** -11 + 2 ** -23) * 1.01 * scale[i]! + (p.worldSize + 1) * 2 ** -25;
          assertWithin(results![0]!, sum64(inputs[0]!), bound, 'fp16');
        } finally {
          closeWorld(world);
        }
      }),
      { numRuns: 25 },
    );
    t.pass();
  });
}

/**
 * int8 with error feedback, inputs |x| ≤ A: every quantization loses at most half a step of its frame,
 * max/254, and what it quantizes is at most N·(A + R), so each rank's residual R ≤ N·A / (254 − N).
 * Per step the output is the true sum plus last step's residuals minus this step's: |err| ≤ 2·N·R; over
 * K steps the sums telescope: |Σ outputs − Σ true sums| ≤ N·R, however large K grows.
 */
function int8Bounds(worldSize: number, maxAbs: number): { step: number; total: number } {
  const residual = ((worldSize * maxAbs) / (254 - worldSize)) * 1.001;
  return { step: 2 * worldSize * residual, total: worldSize * residual };
}

for (const algorithm of AlgorithmName) {
  test(`${algorithm} with int8: same bits on every rank, and over many steps the outputs add up to the true sums`, async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ ...worldParams, worldSize: fc.integer({ min: 2, max: 6 }), length: fc.integer({ min: 1, max: 600 }) }),
        async (p) => {
          const steps = 30;
          const random = seededRandom(p.seed);
          const world = createWorld(p.worldSize, {
            algorithm,
            compression: 'int8',
            maxChunkBytes: maxChunkBytesFor(p),
            maxInFlightBytes: p.maxInFlightBytes,
            server: { reorder: p.reorder, duplicateRate: p.duplicateRate, random },
          });
          try {
            const inputs = Array.from({ length: steps }, () =>
              Array.from({ length: p.worldSize }, () => Float32Array.from({ length: p.length }, () => random() * 2 - 1)),
            );
            const results = await runSteps(world, inputs, p.startDelays);
            const bounds = int8Bounds(p.worldSize, 1);
            const outputTotal = new Float64Array(p.length);
            const trueTotal = new Float64Array(p.length);
            for (const [step, perRank] of results.entries()) {
              assertAllRanksSame(perRank, `int8 step ${step}`);
              const exact = sum64(inputs[step]!);
              assertWithin(perRank[0]!, exact, () => bounds.step, `int8 step ${step}`);
              for (let i = 0; i < p.length; i++) {
                outputTotal[i]! += perRank[0]![i]!;
                trueTotal[i]! += exact[i]!;
              }
              // Bounded after every prefix of steps, not only at the end: the error does not grow.
              for (let i = 0; i < p.length; i++) {
                const drift = Math.abs(outputTotal[i]! - trueTotal[i]!);
                if (!(drift <= bounds.total)) throw new Error(`after ${step + 1} steps element ${i} drifted ${drift} > ${bounds.total}`);
              }
            }
          } finally {
            closeWorld(world);
          }
        },
      ),
      { numRuns: 12 },
    );
    t.pass();
  });
}

for (const algorithm of AlgorithmName) {
  test(`${algorithm}: under fp16 and int8 the exact tail (a step's statistics) sums exactly, over steps`, async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ ...worldParams, worldSize: fc.integer({ min: 2, max: 5 }), compression: fc.constantFrom<Compression>('fp16', 'int8'), tail: fc.integer({ min: 0, max: 40 }), steps: fc.integer({ min: 1, max: 3 }) }),
        async (p) => {
          const random = seededRandom(p.seed);
          const maxChunkBytes = maxChunkBytesFor(p);
          const world = createWorld(p.worldSize, {
            algorithm,
            compression: p.compression,
            maxChunkBytes,
            maxInFlightBytes: p.maxInFlightBytes,
            server: { reorder: p.reorder, duplicateRate: p.duplicateRate, random },
          });
          try {
            const length = p.length + p.tail;
            const exactFrom = p.length;
            await Promise.all(world.ranks.map((c) => c.start()));
            for (let step = 0; step < p.steps; step++) {
              // Statistics are small integers and sums of losses; gradients anything.
              const inputs = world.ranks.map(() => {
                const values = moderateFloats(length, random);
                for (let i = exactFrom; i < length; i++) values[i] = Math.floor(random() * 100) + random();
                return values;
              });
              const results = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(inputs[rank]!, step, undefined, { exactFrom })));
              assertAllRanksSame(results, `step ${step}`);
              const exact = (algorithm === 'ring' ? ringOrderSum(inputs) : referenceSum(inputs)).subarray(exactFrom);
              assertSameBits(results[0]!.subarray(exactFrom), exact, `step ${step}: exact tail`);
            }
            for (const bus of world.buses) {
              if (bus.largest > maxChunkBytes) throw new Error(`a ${bus.largest}-byte message exceeds ${maxChunkBytes}`);
            }
          } finally {
            closeWorld(world);
          }
        },
      ),
      { numRuns: 40 },
    );
    t.pass();
  });
}

test('int8 error feedback delivers gradients far below one quantization step instead of dropping them', async (t) => {
  // Every pair of elements holds 1 and 0.001: each frame's step is 1/127, so 0.001 alone quantizes to 0.
  const worldSize = 3;
  const steps = 60;
  const length = 64;
  const input = Float32Array.from({ length }, (_, i) => (i % 2 === 0 ? 1 : 0.001));
  for (const algorithm of AlgorithmName) {
    const world = createWorld(worldSize, { algorithm, compression: 'int8', maxChunkBytes: HEADER_BYTES + 16 });
    try {
      const inputs = Array.from({ length: steps }, () => Array.from({ length: worldSize }, () => input));
      const results = await runSteps(world, inputs);
      const total = new Float64Array(length);
      for (const perRank of results) for (let i = 0; i < length; i++) total[i]! += perRank[0]![i]!;
      const { total: bound } = int8Bounds(worldSize, 1);
      const expectedSmall = steps * worldSize * Math.fround(0.001);
      for (let i = 1; i < length; i += 2) {
        t.true(Math.abs(total[i]! - expectedSmall) <= bound, `${algorithm} element ${i}: ${total[i]} vs ${expectedSmall}`);
      }
      // Without feedback they would be lost entirely, which the bound rules out.
      t.true(expectedSmall > bound);
    } finally {
      closeWorld(world);
    }
  }
});

test('bytes on the wire per rank: direct (N−1)·S in, sharded 2(N−1)/N·S in and S out, ring 2(N−1)/N·S each way', async (t) => {
  const worldSize = 4;
  const length = 4000; // 1,000 elements per shard, one chunk each
  const bytes = length * 4;
  const shard = bytes / worldSize;
  const expected: Record<AlgorithmName, Record<Compression, { out: number; in: number }>> = {
    direct: {
      none: { out: bytes, in: (worldSize - 1) * bytes },
      fp16: { out: bytes / 2, in: ((worldSize - 1) * bytes) / 2 },
      int8: { out: bytes / 4, in: ((worldSize - 1) * bytes) / 4 },
    },
    sharded: {
      none: { out: bytes, in: 2 * (worldSize - 1) * shard },
      fp16: { out: bytes / 2, in: (2 * (worldSize - 1) * shard) / 2 },
      int8: { out: bytes / 4, in: (2 * (worldSize - 1) * shard) / 4 },
    },
    // Uncompressed, the first hop carries float32 and the N − 2 later ones float64 partial sums.
    ring: {
      none: { out: shard + (worldSize - 2) * 2 * shard + (worldSize - 1) * shard, in: shard + (worldSize - 2) * 2 * shard + (worldSize - 1) * shard },
      fp16: { out: ((2 * (worldSize - 1)) / 2) * shard, in: ((2 * (worldSize - 1)) / 2) * shard },
      int8: { out: ((2 * (worldSize - 1)) / 4) * shard, in: ((2 * (worldSize - 1)) / 4) * shard },
    },
  };
  for (const algorithm of AlgorithmName) {
    for (const compression of ['none', 'fp16', 'int8'] as const) {
      const world = createWorld(worldSize, { algorithm, compression });
      try {
        await Promise.all(world.ranks.map((c) => c.start()));
        // Let late hello replies land before counting: wait until no bus has received anything for 100 ms.
        for (let quiet = 0, last = -1; quiet < 5; ) {
          await sleep(20);
          const now = world.buses.reduce((n, bus) => n + bus.receivedBytes, 0);
          quiet = now === last ? quiet + 1 : 0;
          last = now;
        }
        const before = world.buses.map((bus) => ({ out: bus.publishedBytes, in: bus.receivedBytes, count: bus.count }));
        const random = seededRandom(1);
        await Promise.all(world.ranks.map((c) => c.allReduceSum(moderateFloats(length, random), 0)));
        world.buses.forEach((bus, rank) => {
          const messages = bus.count - before[rank]!.count;
          const received = bus.receivedBytes - before[rank]!.in;
          const published = bus.publishedBytes - before[rank]!.out;
          const { out, in: into } = expected[algorithm][compression];
          // Headers aside: every message carries HEADER_BYTES more.
          t.is(published - messages * HEADER_BYTES, out, `${algorithm}/${compression} rank ${rank} out`);
          const inMessages = { direct: worldSize - 1, sharded: 2 * (worldSize - 1), ring: 2 * (worldSize - 1) }[algorithm];
          t.is(received - inMessages * HEADER_BYTES, into, `${algorithm}/${compression} rank ${rank} in`);
        });
      } finally {
        closeWorld(world);
      }
    }
  }
});

test('auto picks direct for small buffers and single ranks, sharded for large ones; the spec overrides it', async (t) => {
  t.is(selectAlgorithm('auto', DIRECT_MAX_BYTES, 4).name, 'direct');
  t.is(selectAlgorithm('auto', DIRECT_MAX_BYTES + 4, 4).name, 'sharded');
  t.is(selectAlgorithm('auto', 64 << 20, 1).name, 'direct');
  for (const name of AlgorithmName) t.is(selectAlgorithm(name, 4, 8).name, name);
  t.deepEqual(communicationOptions(undefined), { algorithm: 'auto', compression: 'none' });
  t.deepEqual(communicationOptions({ algorithm: '', compression: '' }), { algorithm: 'auto', compression: 'none' });
  t.deepEqual(communicationOptions({ algorithm: 'ring', compression: 'int8' }), { algorithm: 'ring', compression: 'int8' });
  t.throws(() => communicationOptions({ algorithm: 'tree', compression: '' }), { instanceOf: RangeError, message: /tree/ });
  t.throws(() => communicationOptions({ algorithm: '', compression: 'fp8' }), { instanceOf: RangeError, message: /fp8/ });

  // Both regimes of auto, in one world: exact either way.
  const world = createWorld(3, { server: { reorder: true } });
  try {
    t.is(world.ranks[0]!.algorithmFor(10), 'direct');
    const large = DIRECT_MAX_BYTES / 4 + 1;
    t.is(world.ranks[0]!.algorithmFor(large), 'sharded');
    const random = seededRandom(3);
    const inputs = [10, large].map((length) => [0, 1, 2].map(() => randomFloats(length, random)));
    const results = await runSteps(world, inputs);
    results.forEach((perRank, step) => perRank.forEach((r, rank) => assertSameBits(r, referenceSum(inputs[step]!), `step ${step} rank ${rank}`)));
  } finally {
    closeWorld(world);
  }
});

test('windows bound the bytes waiting for any one rank, whatever the buffer size', async (t) => {
  const worldSize = 4;
  const length = 40_000; // 160 KB per rank
  const frameBytes = HEADER_BYTES + 1024;
  const peaks = async (algorithm: AlgorithmName, maxInFlightBytes: number | undefined) => {
    const world = createWorld(worldSize, { algorithm, maxChunkBytes: frameBytes, maxInFlightBytes });
    try {
      const random = seededRandom(5);
      const inputs = [Array.from({ length: worldSize }, () => randomFloats(length, random))];
      const [results] = await runSteps(world, inputs);
      const expected = algorithm === 'ring' ? ringOrderSum(inputs[0]!) : referenceSum(inputs[0]!);
      results!.forEach((r, rank) => assertSameBits(r, expected, `${algorithm} rank ${rank}`));
      return Math.max(...world.server.peakQueuedBytes);
    } finally {
      closeWorld(world);
    }
  };
  for (const algorithm of AlgorithmName) {
    // A 1-byte budget means windows of one chunk: at most one chunk per stream that ends at a rank
    // (2(N − 1) streams; the ring's 2N), each sent once more while the last is being read.
    const streams = algorithm === 'ring' ? 2 * worldSize : 2 * (worldSize - 1);
    const windowed = await peaks(algorithm, 1);
    const open = await peaks(algorithm, undefined);
    t.log(`${algorithm}: at most ${windowed} bytes waited for one rank with windows of one chunk, ${open} without`);
    t.true(windowed <= 2 * streams * frameBytes, `${algorithm}: ${windowed} bytes waited`);
    t.true(open > 4 * windowed);
  }
});

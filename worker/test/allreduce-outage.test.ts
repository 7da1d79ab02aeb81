// Frames lost to a NATS outage: the operation that misses them asks its peers again (at once when
// the transport reconnects, else after a stall), and completes with exactly the result it would
// have had, on every rank. Frames of future steps wait within a bound.
import test from 'ava';
import fc from 'fast-check';
import { decodeFrame, FrameKind, HEADER_BYTES, type Frame } from '../src/allreduce/messages.js';
import { AlgorithmName, type Compression } from '../src/allreduce/round.js';
import { RoundRouter } from '../src/allreduce/round-router.js';
import { assertSameBits, moderateFloats, randomFloats, referenceSum, ringOrderSum, seededRandom } from './helpers/allreduce-reference.js';
import { closeWorld, createWorld, sleep } from './helpers/world.js';

for (const algorithm of AlgorithmName) {
  test(`${algorithm}: an outage in the middle of a run of steps loses frames, and every step still completes exactly`, async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          worldSize: fc.integer({ min: 2, max: 4 }),
          length: fc.integer({ min: 1, max: 600 }),
          compression: fc.constantFrom<Compression>('none', 'int8'),
          // The outage starts after this many messages have gone through the server.
          after: fc.integer({ min: 0, max: 60 }),
          outageMs: fc.integer({ min: 1, max: 30 }),
          seed: fc.integer(),
        }),
        async (p) => {
          const random = seededRandom(p.seed);
          let published = 0;
          let outage: Promise<void> | undefined;
          const world = createWorld(p.worldSize, {
            algorithm,
            compression: p.compression,
            maxChunkBytes: HEADER_BYTES + 8 * 16,
            timeoutMs: 10_000,
            server: {
              drop: () => {
                if (++published === p.after) outage = world.server.outage(p.outageMs);
                return false;
              },
            },
          });
          try {
            await Promise.all(world.ranks.map((c) => c.start()));
            const steps = 3;
            const inputs = Array.from({ length: steps }, () => world.ranks.map(() => (p.compression === 'none' ? randomFloats(p.length, random) : moderateFloats(p.length, random))));
            const results = await Promise.all(
              world.ranks.map(async (c, rank) => {
                const out: Float32Array[] = [];
                for (let step = 0; step < steps; step++) out.push(await c.allReduceSum(inputs[step]![rank]!, step));
                return out;
              }),
            );
            await outage;
            for (let step = 0; step < steps; step++) {
              for (let rank = 0; rank < p.worldSize; rank++) assertSameBits(results[rank]![step]!, results[0]![step]!, `step ${step} rank ${rank}`);
              if (p.compression === 'none') {
                const expected = algorithm === 'ring' ? ringOrderSum(inputs[step]!) : referenceSum(inputs[step]!);
                assertSameBits(results[0]![step]!, expected, `step ${step}`);
              }
            }
          } finally {
            closeWorld(world);
          }
        },
      ),
      { numRuns: 15 },
    );
    t.pass();
  });
}

test('a frame lost without a reconnect is asked for again after a stall', async (t) => {
  let dropped: Frame | undefined;
  const world = createWorld(3, {
    algorithm: 'sharded',
    maxChunkBytes: HEADER_BYTES + 4 * 8,
    timeoutMs: 10_000,
    server: {
      // Rank 2's first gather frame, once.
      drop: (_subject, data) => {
        const frame = decodeFrame(data);
        if (dropped !== undefined || frame?.kind !== FrameKind.gather || frame.sender !== 2) return false;
        dropped = frame;
        return true;
      },
    },
  });
  try {
    await Promise.all(world.ranks.map((c) => c.start()));
    const random = seededRandom(7);
    const inputs = world.ranks.map(() => randomFloats(100, random));
    const started = performance.now();
    const results = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(inputs[rank]!, 0)));
    t.truthy(dropped);
    for (const result of results) assertSameBits(result, referenceSum(inputs), 'result');
    t.log(`completed ${Math.round(performance.now() - started)} ms after a lost frame`);
  } finally {
    closeWorld(world);
  }
});

test('a broadcast through an outage arrives whole', async (t) => {
  const world = createWorld(3, { maxChunkBytes: HEADER_BYTES + 4 * 8, timeoutMs: 10_000 });
  try {
    await Promise.all(world.ranks.map((c) => c.start()));
    const data = Float32Array.from({ length: 200 }, (_, i) => i * 0.5);
    const outage = world.server.outage(20);
    const results = await Promise.all(world.ranks.map((c, rank) => c.broadcast(rank === 1 ? data : null, data.length, 1, 5)));
    await outage;
    t.true(world.server.lost > 0, 'the outage lost frames');
    for (const result of results) t.deepEqual(result, data);
  } finally {
    closeWorld(world);
  }
});

test('a broadcast keeps at most a window of chunks ahead of its slowest receiver', async (t) => {
  const frameBytes = HEADER_BYTES + 1024;
  const peak = async (maxInFlightBytes: number | undefined) => {
    const world = createWorld(4, { maxChunkBytes: frameBytes, maxInFlightBytes, timeoutMs: 10_000 });
    try {
      await Promise.all(world.ranks.map((c) => c.start()));
      const data = Float32Array.from({ length: 40_000 }, (_, i) => Math.sin(i));
      const results = await Promise.all(world.ranks.map((c, rank) => c.broadcast(rank === 0 ? data : null, data.length, 0, 1)));
      for (const result of results) t.deepEqual(result, data);
      return Math.max(...world.server.peakQueuedBytes);
    } finally {
      closeWorld(world);
    }
  };
  const windowed = await peak(1);
  const open = await peak(undefined);
  t.log(`at most ${windowed} bytes waited for one rank with a window of one chunk, ${open} without`);
  // One chunk in flight, one more sent while the acknowledgement travels.
  t.true(windowed <= 3 * frameBytes, `${windowed} bytes waited`);
  t.true(open > 10 * windowed);
});

test("the start barrier waits for its own timeout (a joiner loading its data), not an operation's", async (t) => {
  const world = createWorld(2, { timeoutMs: 100, startTimeoutMs: 5_000 });
  try {
    const early = world.ranks[0]!.start();
    await sleep(600);
    await Promise.all([early, world.ranks[1]!.start()]);
    const results = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(new Float32Array([rank + 1]), 0)));
    t.deepEqual(results.map((r) => r[0]), [3, 3]);
  } finally {
    closeWorld(world);
  }
});

test('frames of future steps wait within a bound: two steps, a byte budget', (t) => {
  const received: number[] = [];
  const router = new RoundRouter(100);
  const frame = (step: number, bytes: number): Frame => ({
    kind: FrameKind.reduce,
    wantsReply: false,
    generation: 1,
    step,
    sender: 1,
    algorithm: 1,
    encoding: 0,
    chunkIndex: 0,
    chunkCount: 1,
    totalLength: bytes / 4,
    elementOffset: 0,
    elementCount: bytes / 4,
    scale: 0,
    payload: new Uint8Array(bytes),
  });
  router.deliver(frame(1, 40));
  router.deliver(frame(2, 40));
  router.deliver(frame(3, 8)); // a third future step: dropped
  router.deliver(frame(2, 40)); // over the byte budget: dropped
  router.open(2, { receive: (f) => received.push(f.step), missing: () => [] });
  t.deepEqual(received, [2]);
  router.finish(2);
  router.deliver(frame(3, 80)); // the budget is free again
  router.open(3, { receive: (f) => received.push(f.step), missing: () => [] });
  t.deepEqual(received, [2, 3]);
});

test.after('no timer outlives the collectives', async (t) => {
  await sleep(10);
  t.deepEqual(
    process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout'),
    [],
  );
});

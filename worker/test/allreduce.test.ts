// The Collective over the in-memory bus: barrier, routing, stale and foreign frames, timeouts, aborts,
// close, mismatches and broadcast, for every all-reduce algorithm. (The numbers each algorithm produces
// are checked in allreduce-algorithms.test.ts.)
import test from 'ava';
import fc from 'fast-check';
import type { MessageBus } from '../src/allreduce/bus.js';
import { Encoding } from '../src/allreduce/codec.js';
import { Collective } from '../src/allreduce/collective.js';
import {
  AllReduceAbortedError,
  AllReduceMismatchError,
  AllReduceTimeoutError,
  CollectiveClosedError,
} from '../src/allreduce/errors.js';
import {
  AlgorithmId,
  decodeFrame,
  encodeFrame,
  FrameKind,
  HEADER_BYTES,
  type FrameHeader,
} from '../src/allreduce/messages.js';
import { AlgorithmName } from '../src/allreduce/round.js';
import { allReduceSubject, fanOutSubject, inboxSubject, jobToken } from '../src/allreduce/subject.js';
import { assertSameBits, randomFloats, referenceSum, ringOrderSum, seededRandom } from './helpers/allreduce-reference.js';
import { MemoryServer } from './helpers/memory-bus.js';
import { closeWorld, createWorld, sleep } from './helpers/world.js';

function frameHeader(overrides: Partial<FrameHeader>): FrameHeader {
  return {
    kind: FrameKind.reduce,
    wantsReply: false,
    generation: 0,
    step: 0,
    sender: 0,
    algorithm: AlgorithmId.direct,
    encoding: Encoding.f32,
    chunkIndex: 0,
    chunkCount: 1,
    totalLength: 0,
    elementOffset: 0,
    elementCount: 0,
    scale: 0,
    ...overrides,
  };
}

/** A float32 frame carrying `values` as the whole buffer in one chunk. */
function dataFrame(values: Float32Array, overrides: Partial<FrameHeader>): Uint8Array {
  return encodeFrame(frameHeader({ totalLength: values.length, elementCount: values.length, ...overrides }), values);
}

for (const algorithm of AlgorithmName) {
  test(`${algorithm}: frames from another generation, past steps, unknown ranks or malformed bytes are ignored`, async (t) => {
    const world = createWorld(2, { generation: 7, algorithm });
    const intruder = world.server.connect();
    const subjects = [
      allReduceSubject('job-1', 7),
      ...[0, 1].flatMap((rank) => [inboxSubject('job-1', 7, rank), fanOutSubject('job-1', 7, rank)]),
    ];
    const poison = new Float32Array([1e30, -1e30, 12345]);
    const id = AlgorithmId[algorithm];
    const publish = (frame: Uint8Array) => subjects.forEach((subject) => intruder.publish(subject, frame));
    const inject = () => {
      for (const kind of [FrameKind.reduce, FrameKind.gather]) {
        publish(dataFrame(poison, { kind, algorithm: id, generation: 6, sender: 1, step: 0 }));
        publish(dataFrame(poison, { kind, algorithm: id, generation: 8, sender: 1, step: 1 }));
        publish(dataFrame(poison, { kind, algorithm: id, generation: 7, sender: 5, step: 1 }));
      }
      publish(encodeFrame(frameHeader({ kind: FrameKind.hello, algorithm: AlgorithmId.none, chunkCount: 0, generation: 6, sender: 1 }), new Float32Array(0)));
      const valid = dataFrame(poison, { algorithm: id, generation: 7, sender: 1, step: 1 });
      publish(valid.subarray(0, valid.length - 1));
      publish(Uint8Array.of(0x00, ...valid.subarray(1)));
      publish(Uint8Array.of(...valid.subarray(0, 15), 9, ...valid.subarray(16))); // unknown encoding
      publish(new Uint8Array(3));
    };
    try {
      inject();
      await Promise.all(world.ranks.map((c) => c.start()));
      inject();
      const step0 = [new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6])];
      const [a0, b0] = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(step0[rank]!, 0)));
      t.deepEqual([...a0!], [5, 7, 9]);
      t.deepEqual([...b0!], [5, 7, 9]);
      // Step 0 is over: late frames claiming to be rank 1's step 0 must not leak into step 1.
      for (const kind of [FrameKind.reduce, FrameKind.gather]) {
        publish(dataFrame(poison, { kind, algorithm: id, generation: 7, sender: 1, step: 0 }));
      }
      inject();
      await sleep(5);
      const step1 = [new Float32Array([1, 1, 1]), new Float32Array([2, 2, 2])];
      const [a1, b1] = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(step1[rank]!, 1)));
      t.deepEqual([...a1!], [3, 3, 3]);
      t.deepEqual([...b1!], [3, 3, 3]);
    } finally {
      closeWorld(world);
    }
  });

  test(`${algorithm}: jobs and generations on one server do not mix, even when job ids differ only in escaped characters`, async (t) => {
    const server = new MemoryServer({ reorder: true });
    const jobs = [
      { jobId: 'a.b', generation: 0, value: 1 },
      { jobId: 'a_b', generation: 0, value: 10 },
      { jobId: 'a.b', generation: 1, value: 100 },
    ];
    const collectives = jobs.flatMap(({ jobId, generation }) =>
      [0, 1].map(
        (rank) => new Collective({ bus: server.connect(), jobId, generation, rank, worldSize: 2, timeoutMs: 5_000, algorithm }),
      ),
    );
    try {
      await Promise.all(collectives.map((c) => c.start()));
      const results = await Promise.all(
        collectives.map((c, i) => c.allReduceSum(new Float32Array([jobs[Math.floor(i / 2)]!.value, 0.5]), 0)),
      );
      t.deepEqual(
        results.map((r) => r[0]),
        [2, 2, 20, 20, 200, 200],
      );
    } finally {
      for (const c of collectives) c.close();
    }
  });

  // Serial: a 150 ms deadline must not compete with the other tests of this file for the event loop.
  test.serial(`${algorithm}: a chunk that never arrives fails with AllReduceTimeoutError naming the rank, within the timeout`, async (t) => {
    const timeoutMs = 150;
    let dropped: FrameHeader | undefined;
    const world = createWorld(2, {
      timeoutMs,
      algorithm,
      maxChunkBytes: HEADER_BYTES + 4 * 8,
      server: {
        // Every data frame of rank 1 for chunk 1 (asked for again or not): a peer that never delivers it.
        drop: (_subject, data) => {
          const frame = decodeFrame(data);
          if (frame?.kind !== FrameKind.reduce || frame.sender !== 1 || frame.chunkIndex !== 1) return false;
          dropped ??= frame;
          return true;
        },
      },
    });
    try {
      await Promise.all(world.ranks.map((c) => c.start()));
      const started = performance.now();
      const outcomes = await Promise.allSettled(world.ranks.map((c) => c.allReduceSum(new Float32Array(40).fill(1), 0)));
      const elapsed = performance.now() - started;
      t.not(dropped, undefined);
      t.is(outcomes[0]!.status, 'rejected');
      const error = (outcomes[0] as PromiseRejectedResult).reason;
      t.true(error instanceof AllReduceTimeoutError);
      t.is(error.name, 'AllReduceTimeoutError');
      t.deepEqual(error.missingRanks, [1]);
      t.deepEqual(error.missing[0].chunks, [1]);
      t.regex(error.message, /^rank 0: allReduceSum step 0 timed out after 150 ms; never arrived: rank 1 chunk 1 of \d+$/);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') t.true(outcome.reason instanceof AllReduceTimeoutError);
      }
      t.true(elapsed >= timeoutMs - 5 && elapsed < timeoutMs + 1_000, `took ${elapsed} ms`);
    } finally {
      closeWorld(world);
    }
  });

  test(`${algorithm}: ranks that disagree on the buffer length fail with AllReduceMismatchError`, async (t) => {
    const world = createWorld(2, { algorithm, timeoutMs: 2_000 });
    try {
      await Promise.all(world.ranks.map((c) => c.start()));
      const outcomes = await Promise.allSettled([
        world.ranks[0]!.allReduceSum(new Float32Array(10), 0),
        world.ranks[1]!.allReduceSum(new Float32Array(11), 0),
      ]);
      for (const outcome of outcomes) {
        t.is(outcome.status, 'rejected');
        t.true((outcome as PromiseRejectedResult).reason instanceof AllReduceMismatchError);
      }
    } finally {
      closeWorld(world);
    }
  });
}

test('ranks that disagree on the algorithm or the compression fail with AllReduceMismatchError naming it', async (t) => {
  for (const [a, b, pattern] of [
    [{ algorithm: 'sharded' }, { algorithm: 'direct' }, /runs the (sharded|direct) all-reduce/],
    [{ algorithm: 'sharded', compression: 'fp16' }, { algorithm: 'sharded', compression: 'int8' }, /same compression/],
  ] as const) {
    const server = new MemoryServer();
    const ranks = [a, b].map((opts, rank) => new Collective({ bus: server.connect(), jobId: 'j', generation: 0, rank, worldSize: 2, timeoutMs: 2_000, ...opts }));
    try {
      await Promise.all(ranks.map((c) => c.start()));
      const outcomes = await Promise.allSettled(ranks.map((c) => c.allReduceSum(new Float32Array(8), 0)));
      for (const outcome of outcomes) {
        t.is(outcome.status, 'rejected');
        const error = (outcome as PromiseRejectedResult).reason;
        t.true(error instanceof AllReduceMismatchError);
        t.regex(error.message, pattern);
      }
    } finally {
      for (const c of ranks) c.close();
    }
  }
});

test('the start barrier waits for late joiners, survives lost hellos, and times out on a missing rank', async (t) => {
  let hellosToDrop = 6;
  const world = createWorld(3, {
    timeoutMs: 2_000,
    server: {
      drop: (_subject, data) => decodeFrame(data)?.kind === FrameKind.hello && hellosToDrop-- > 0,
    },
  });
  try {
    const early = world.ranks.slice(0, 2).map((c) => c.start());
    await sleep(100);
    await Promise.all([...early, world.ranks[2]!.start()]);
    const results = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(new Float32Array([rank]), 0)));
    t.deepEqual(
      results.map((r) => r[0]),
      [3, 3, 3],
    );
  } finally {
    closeWorld(world);
  }

  // Long enough that ranks 0 and 1 surely hear each other on a busy machine, so only rank 2 is missing.
  const lonely = createWorld(3, { timeoutMs: 400 });
  try {
    const outcomes = await Promise.allSettled(lonely.ranks.slice(0, 2).map((c) => c.start()));
    for (const outcome of outcomes) {
      t.is(outcome.status, 'rejected');
      const error = (outcome as PromiseRejectedResult).reason;
      t.true(error instanceof AllReduceTimeoutError);
      t.deepEqual(error.missingRanks, [2]);
      t.regex(error.message, /start barrier timed out after 400 ms; never arrived: hello from rank 2/);
    }
    await t.throwsAsync(lonely.ranks[0]!.allReduceSum(new Float32Array(1), 0), { message: /call start\(\)/ });
  } finally {
    closeWorld(lonely);
  }
});

test('an AbortSignal ends a pending operation with AllReduceAbortedError; a pre-aborted one uses no step', async (t) => {
  const world = createWorld(2);
  try {
    await Promise.all(world.ranks.map((c) => c.start()));
    const controller = new AbortController();
    const pending = world.ranks[0]!.allReduceSum(new Float32Array([1]), 0, controller.signal);
    setTimeout(() => controller.abort(new Error('job cancelled')), 20);
    const error = await t.throwsAsync(pending, { instanceOf: AllReduceAbortedError });
    t.is(error?.name, 'AllReduceAbortedError');
    t.is((error?.cause as Error).message, 'job cancelled');

    const preAborted = AbortSignal.abort('stop');
    await t.throwsAsync(world.ranks[0]!.allReduceSum(new Float32Array([1]), 1, preAborted), {
      instanceOf: AllReduceAbortedError,
    });
    await t.throwsAsync(world.ranks[0]!.broadcast(null, 1, 1, 0, preAborted), { instanceOf: AllReduceAbortedError });
    // Step 1 was never used, so both ranks can still run it.
    const results = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(new Float32Array([rank + 1]), 1)));
    t.deepEqual(
      results.map((r) => r[0]),
      [3, 3],
    );
    await t.throwsAsync(world.ranks[0]!.allReduceSum(new Float32Array([1]), 0), { instanceOf: RangeError });
  } finally {
    closeWorld(world);
  }
});

test('close() rejects pending operations with CollectiveClosedError and unsubscribes everything', async (t) => {
  const world = createWorld(2);
  const subject = allReduceSubject('job-1', 0);
  try {
    const starting = world.ranks[0]!.start();
    world.ranks[0]!.close();
    await t.throwsAsync(starting, { instanceOf: CollectiveClosedError });
    t.is(world.server.subscriptionCount(), 0);

    const again = createWorld(3);
    try {
      await Promise.all(again.ranks.map((c) => c.start()));
      t.is(again.server.subscriptionCount(subject), 3);
      // Each rank: hellos, its inbox, and the fan-out subjects of the two others.
      t.is(again.server.subscriptionCount(), 3 * 4);
      t.is(again.server.subscriptionCount(inboxSubject('job-1', 0, 1)), 1);
      t.is(again.server.subscriptionCount(fanOutSubject('job-1', 0, 1)), 2);
      const pending = again.ranks[0]!.allReduceSum(new Float32Array(4), 0);
      again.ranks[0]!.close();
      const error = await t.throwsAsync(pending, { instanceOf: CollectiveClosedError });
      t.is(error?.name, 'CollectiveClosedError');
      t.is(again.server.subscriptionCount(subject), 2);
      t.is(again.server.subscriptionCount(), 2 * 4);
      await t.throwsAsync(again.ranks[0]!.allReduceSum(new Float32Array(4), 1), { instanceOf: CollectiveClosedError });
    } finally {
      closeWorld(again);
    }
    t.is(again.server.subscriptionCount(), 0);
  } finally {
    closeWorld(world);
  }
});

test('broadcast delivers the root buffer to every rank for any root, length and chunking', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        worldSize: fc.integer({ min: 1, max: 5 }),
        lengths: fc.array(fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 3 }),
        roots: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        chunkElements: fc.integer({ min: 2, max: 500 }),
        seed: fc.integer(),
      }),
      async (p) => {
        const chunkElements = Math.max(p.chunkElements, Math.ceil(Math.max(...p.lengths) / 100));
        const random = seededRandom(p.seed);
        const world = createWorld(p.worldSize, {
          server: { reorder: true, duplicateRate: 0.2, random },
          maxChunkBytes: HEADER_BYTES + chunkElements * 4,
        });
        try {
          await Promise.all(world.ranks.map((c) => c.start()));
          for (const [tag, length] of p.lengths.entries()) {
            const root = p.roots[tag]! % p.worldSize;
            const data = randomFloats(length, random);
            const results = await Promise.all(
              world.ranks.map((c, rank) => c.broadcast(rank === root ? data : null, length, root, tag)),
            );
            results.forEach((result, rank) => assertSameBits(result, data, `tag ${tag} rank ${rank}`));
            t.not(results[root], data);
          }
          // The root's frames reach only the others: nobody receives its own.
          t.is(world.server.subscriptionCount(fanOutSubject('job-1', 0, 0)), p.worldSize - 1);
        } finally {
          closeWorld(world);
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('frames round-trip, and decoding rejects every malformed frame without throwing', (t) => {
  const values = new Float32Array([1.5, -0, Infinity]);
  const header = frameHeader({
    generation: 4_000_000_000,
    step: 9,
    sender: 65_535,
    algorithm: AlgorithmId.sharded,
    chunkIndex: 2,
    chunkCount: 3,
    totalLength: 10,
    elementOffset: 7,
    elementCount: 3,
  });
  const bytes = encodeFrame(header, values);
  t.is(bytes.length, HEADER_BYTES + 12);
  const decoded = decodeFrame(bytes);
  t.deepEqual({ ...decoded!, payload: new Float32Array(decoded!.payload.slice().buffer) }, { ...header, payload: values });

  const corrupt = (at: number, value: number) => Uint8Array.from(bytes, (b, i) => (i === at ? value : b));
  t.is(decodeFrame(bytes.subarray(0, bytes.length - 1)), null, 'truncated payload');
  t.is(decodeFrame(bytes.subarray(0, HEADER_BYTES - 1)), null, 'truncated header');
  t.is(decodeFrame(Uint8Array.of(...bytes, 0)), null, 'trailing byte');
  t.is(decodeFrame(corrupt(0, 0x00)), null, 'wrong magic');
  t.is(decodeFrame(corrupt(1, 1)), null, 'older version');
  t.is(decodeFrame(corrupt(2, 9)), null, 'unknown kind');
  t.is(decodeFrame(corrupt(3, 1)), null, 'reply flag on a data frame');
  t.is(decodeFrame(corrupt(14, 9)), null, 'unknown algorithm');
  t.is(decodeFrame(corrupt(14, AlgorithmId.none)), null, 'data frame without an algorithm');
  t.is(decodeFrame(corrupt(15, 9)), null, 'unknown encoding');
  t.is(decodeFrame(corrupt(15, Encoding.f64)), null, 'size does not fit the encoding');
  t.is(decodeFrame(corrupt(28, 8)), null, 'chunk past the end of the buffer');
  t.is(decodeFrame(corrupt(39, 0x3f)), null, 'a scale on a float32 frame');

  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (random) => {
      const frame = decodeFrame(random);
      return frame === null || frame.payload.length === random.length - HEADER_BYTES;
    }),
  );
});

test('job ids become distinct, valid subject tokens; each rank has an inbox and a fan-out subject', (t) => {
  t.is(allReduceSubject('mnist-7', 3), 'syncline.allreduce.mnist-7.3');
  t.is(inboxSubject('mnist-7', 3, 2), 'syncline.allreduce.mnist-7.3.to.2');
  t.is(fanOutSubject('mnist-7', 3, 2), 'syncline.allreduce.mnist-7.3.from.2');
  t.is(jobToken('a.b c*>%'), 'a%2eb%20c%2a%3e%25');
  t.throws(() => jobToken(''), { instanceOf: RangeError });
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), fc.string({ unit: 'grapheme', minLength: 1 }), (a, b) => {
      const [ta, tb] = [jobToken(a), jobToken(b)];
      return /^[A-Za-z0-9_%-]+$/.test(ta) && (a === b) === (ta === tb);
    }),
  );
});

test('single-rank worlds and misuse', async (t) => {
  for (const algorithm of AlgorithmName) {
    const world = createWorld(1, { algorithm, compression: 'int8' });
    try {
      await world.ranks[0]!.start();
      // One rank sends nothing, so nothing is compressed; -0 sums like a local sum starting at +0.
      t.deepEqual([...(await world.ranks[0]!.allReduceSum(new Float32Array([0.1, -0]), 0))], [Math.fround(0.1), 0]);
      t.is(world.buses[0]!.count, 1, 'one hello, no data');
      t.deepEqual([...(await world.ranks[0]!.broadcast(new Float32Array([2]), 1, 0, 0))], [2]);
      await t.throwsAsync(world.ranks[0]!.broadcast(null, 1, 0, 1), { instanceOf: TypeError });
      await t.throwsAsync(world.ranks[0]!.broadcast(new Float32Array(2), 1, 0, 1), { instanceOf: RangeError });
      await t.throwsAsync(world.ranks[0]!.broadcast(null, 1, 3, 1), { instanceOf: RangeError });
      await t.throwsAsync(world.ranks[0]!.allReduceSum(new Float32Array(1), -1), { instanceOf: RangeError });
    } finally {
      closeWorld(world);
    }
  }
  const bus: MessageBus = new MemoryServer().connect();
  const valid = { bus, jobId: 'j', generation: 0, rank: 0, worldSize: 1, timeoutMs: 1 };
  for (const invalid of [
    { maxChunkBytes: HEADER_BYTES + 7 },
    { maxChunkBytes: bus.maxPayload + 1 },
    { rank: 2, worldSize: 2 },
    { worldSize: 0 },
    { generation: -1 },
    { timeoutMs: 2 ** 31 },
    { jobId: '' },
  ]) {
    t.throws(() => new Collective({ ...valid, ...invalid }), { instanceOf: RangeError }, JSON.stringify(invalid));
  }
});

test('allReduceSum over a million floats with 3 ranks reduces exactly with every algorithm', async (t) => {
  const length = 1_000_000;
  const random = seededRandom(length);
  const inputs = [0, 1, 2].map(() => randomFloats(length, random));
  for (const algorithm of AlgorithmName) {
    const expected = algorithm === 'ring' ? ringOrderSum(inputs) : referenceSum(inputs);
    const world = createWorld(3, { algorithm, server: { reorder: true } });
    try {
      await Promise.all(world.ranks.map((c) => c.start()));
      const started = performance.now();
      const results = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(inputs[rank]!, 0)));
      t.log(`${algorithm}: ${length} floats, 3 ranks in one process: ${(performance.now() - started).toFixed(0)} ms`);
      results.forEach((result, rank) => assertSameBits(result, expected, `${algorithm} rank ${rank}`));
      for (const bus of world.buses) t.true(bus.largest <= world.server.maxPayload);
    } finally {
      closeWorld(world);
    }
  }
});

// Timeouts are what the collective owns (operation deadlines, hello retries); the fake server's
// setImmediate batches are its own and drain by themselves.
test.after('no timer outlives the collectives', (t) => {
  t.deepEqual(
    process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout'),
    [],
  );
});

// All-reduce and broadcast over the in-memory bus, checked bit for bit against a local float64 sum.
import test from 'ava';
import fc from 'fast-check';
import type { MessageBus } from '../src/allreduce/bus.js';
import { Collective } from '../src/allreduce/collective.js';
import {
  AllReduceAbortedError,
  AllReduceMismatchError,
  AllReduceTimeoutError,
  CollectiveClosedError,
} from '../src/allreduce/errors.js';
import { decodeFrame, encodeFrame, FrameKind, HEADER_BYTES, type FrameHeader } from '../src/allreduce/messages.js';
import { allReduceSubject, jobToken } from '../src/allreduce/subject.js';
import { assertSameBits, randomFloats, referenceSum, seededRandom } from './helpers/allreduce-reference.js';
import { MemoryServer, RecordingBus, type MemoryServerOptions } from './helpers/memory-bus.js';

interface World {
  server: MemoryServer;
  buses: RecordingBus[];
  ranks: Collective[];
}

function createWorld(
  worldSize: number,
  opts: { server?: MemoryServerOptions; jobId?: string; generation?: number; timeoutMs?: number; maxChunkBytes?: number } = {},
): World {
  const server = new MemoryServer(opts.server);
  const buses = Array.from({ length: worldSize }, () => new RecordingBus(server.connect()));
  const ranks = buses.map(
    (bus, rank) =>
      new Collective({
        bus,
        jobId: opts.jobId ?? 'job-1',
        generation: opts.generation ?? 0,
        rank,
        worldSize,
        timeoutMs: opts.timeoutMs ?? 5_000,
        ...(opts.maxChunkBytes === undefined ? {} : { maxChunkBytes: opts.maxChunkBytes }),
      }),
  );
  return { server, buses, ranks };
}

function closeWorld(world: World): void {
  for (const rank of world.ranks) rank.close();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function frameHeader(overrides: Partial<FrameHeader>): FrameHeader {
  return {
    kind: FrameKind.data,
    wantsReply: false,
    generation: 0,
    step: 0,
    sender: 0,
    chunkIndex: 0,
    chunkCount: 1,
    totalLength: 0,
    elementOffset: 0,
    elementCount: 0,
    ...overrides,
  };
}

/** A data frame carrying `values` as the whole buffer in one chunk. */
function dataFrame(values: Float32Array, overrides: Partial<FrameHeader>): Uint8Array {
  return encodeFrame(frameHeader({ totalLength: values.length, elementCount: values.length, ...overrides }), values);
}

test('allReduceSum equals the rank-ordered float64 sum on every rank, bit for bit', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        worldSize: fc.integer({ min: 1, max: 5 }),
        length: fc.oneof(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 5000 })),
        chunkElements: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 17, max: 6000 })),
        slackBytes: fc.integer({ min: 0, max: 3 }),
        steps: fc.integer({ min: 1, max: 3 }),
        reorder: fc.boolean(),
        duplicateRate: fc.constantFrom(0, 0.3),
        seed: fc.integer(),
        startDelays: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 5, maxLength: 5 }),
      }),
      async (p) => {
        // Capping the chunk count keeps a run fast; tiny chunks are still exercised on short buffers.
        const chunkElements = Math.max(p.chunkElements, Math.ceil(p.length / 200));
        const maxChunkBytes = HEADER_BYTES + chunkElements * 4 + p.slackBytes;
        const random = seededRandom(p.seed);
        const world = createWorld(p.worldSize, {
          server: { reorder: p.reorder, duplicateRate: p.duplicateRate, random },
          maxChunkBytes,
        });
        try {
          const inputs = Array.from({ length: p.steps }, () =>
            Array.from({ length: p.worldSize }, () => randomFloats(p.length, random)),
          );
          // Each rank starts late by its own delay and runs its steps without waiting for the others,
          // so peers are regularly a step ahead.
          const results = await Promise.all(
            world.ranks.map(async (collective, rank) => {
              await sleep(p.startDelays[rank]!);
              await collective.start();
              const out: Float32Array[] = [];
              for (let step = 0; step < p.steps; step++) out.push(await collective.allReduceSum(inputs[step]![rank]!, step));
              return out;
            }),
          );
          for (let step = 0; step < p.steps; step++) {
            const expected = referenceSum(inputs[step]!);
            results.forEach((perStep, rank) => assertSameBits(perStep[step]!, expected, `rank ${rank} step ${step}`));
          }
          for (const bus of world.buses) {
            if (bus.largest > maxChunkBytes) throw new Error(`a ${bus.largest}-byte message exceeds ${maxChunkBytes}`);
          }
        } finally {
          closeWorld(world);
        }
      },
    ),
    { numRuns: 60 },
  );
  t.pass();
});

test('buffers of 1 element per message, and of a million floats, reduce exactly', async (t) => {
  for (const { length, maxChunkBytes } of [
    { length: 3000, maxChunkBytes: HEADER_BYTES + 4 },
    { length: 1_000_000, maxChunkBytes: undefined },
  ]) {
    const world = createWorld(3, { server: { reorder: true }, ...(maxChunkBytes === undefined ? {} : { maxChunkBytes }) });
    try {
      const random = seededRandom(length);
      const inputs = world.ranks.map(() => randomFloats(length, random));
      await Promise.all(world.ranks.map((c) => c.start()));
      const started = performance.now();
      const results = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(inputs[rank]!, 0)));
      t.log(`${length} floats, 3 ranks in one process: ${(performance.now() - started).toFixed(0)} ms`);
      const expected = referenceSum(inputs);
      results.forEach((result, rank) => assertSameBits(result, expected, `rank ${rank}`));
      const limit = maxChunkBytes ?? world.server.maxPayload;
      for (const bus of world.buses) t.true(bus.largest <= limit);
      t.true(world.buses[0]!.count >= Math.ceil((length * 4) / limit));
    } finally {
      closeWorld(world);
    }
  }
});

test('frames from another generation, past steps, unknown ranks or malformed bytes are ignored', async (t) => {
  const world = createWorld(2, { generation: 7 });
  const intruder = world.server.connect();
  const subject = allReduceSubject('job-1', 7);
  const poison = new Float32Array([1e30, -1e30, 12345]);
  const inject = () => {
    intruder.publish(subject, dataFrame(poison, { generation: 6, sender: 1, step: 0 }));
    intruder.publish(subject, dataFrame(poison, { generation: 8, sender: 1, step: 1 }));
    intruder.publish(subject, dataFrame(poison, { generation: 7, sender: 5, step: 1 }));
    const staleHello = frameHeader({ kind: FrameKind.hello, chunkCount: 0, generation: 6, sender: 1 });
    intruder.publish(subject, encodeFrame(staleHello, new Float32Array(0)));
    const valid = dataFrame(poison, { generation: 7, sender: 1, step: 1 });
    intruder.publish(subject, valid.subarray(0, valid.length - 1));
    intruder.publish(subject, Uint8Array.of(0x00, ...valid.subarray(1)));
    intruder.publish(subject, new Uint8Array(3));
  };
  try {
    inject();
    await Promise.all(world.ranks.map((c) => c.start()));
    inject();
    const step0 = [new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6])];
    const [a0, b0] = await Promise.all(world.ranks.map((c, rank) => c.allReduceSum(step0[rank]!, 0)));
    t.deepEqual([...a0!], [5, 7, 9]);
    t.deepEqual([...b0!], [5, 7, 9]);
    // Step 0 is over: a late frame claiming to be rank 1's step 0 must not leak into step 1.
    intruder.publish(subject, dataFrame(poison, { generation: 7, sender: 1, step: 0 }));
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

test('jobs and generations on one server do not mix, even when job ids differ only in escaped characters', async (t) => {
  const server = new MemoryServer({ reorder: true });
  const jobs = [
    { jobId: 'a.b', generation: 0, value: 1 },
    { jobId: 'a_b', generation: 0, value: 10 },
    { jobId: 'a.b', generation: 1, value: 100 },
  ];
  const collectives = jobs.flatMap(({ jobId, generation }) =>
    [0, 1].map((rank) => new Collective({ bus: server.connect(), jobId, generation, rank, worldSize: 2, timeoutMs: 5_000 })),
  );
  try {
    await Promise.all(collectives.map((c) => c.start()));
    const results = await Promise.all(
      collectives.map((c, i) => c.allReduceSum(new Float32Array([jobs[Math.floor(i / 2)]!.value]), 0)),
    );
    t.deepEqual(
      results.map((r) => r[0]),
      [2, 2, 20, 20, 200, 200],
    );
  } finally {
    for (const c of collectives) c.close();
  }
});

test('a chunk that never arrives fails with AllReduceTimeoutError naming the rank and chunk', async (t) => {
  const timeoutMs = 150;
  const world = createWorld(2, {
    timeoutMs,
    maxChunkBytes: HEADER_BYTES + 4 * 4,
    server: {
      drop: (_subject, data) => {
        const frame = decodeFrame(data);
        return frame?.kind === FrameKind.data && frame.sender === 1 && frame.chunkIndex === 2;
      },
    },
  });
  try {
    await Promise.all(world.ranks.map((c) => c.start()));
    const started = performance.now();
    const [rank0, rank1] = await Promise.allSettled(world.ranks.map((c) => c.allReduceSum(new Float32Array(20).fill(1), 0)));
    const elapsed = performance.now() - started;
    t.is(rank1!.status, 'fulfilled');
    t.is(rank0!.status, 'rejected');
    const error = (rank0 as PromiseRejectedResult).reason;
    t.true(error instanceof AllReduceTimeoutError);
    t.is(error.name, 'AllReduceTimeoutError');
    t.deepEqual(error.missingRanks, [1]);
    t.regex(error.message, /rank 0: allReduceSum step 0 timed out after 150 ms; never arrived: rank 1 chunk 2 of 5/);
    t.true(elapsed >= timeoutMs - 5 && elapsed < timeoutMs + 1_000, `took ${elapsed} ms`);
  } finally {
    closeWorld(world);
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

  const lonely = createWorld(3, { timeoutMs: 100 });
  try {
    const outcomes = await Promise.allSettled(lonely.ranks.slice(0, 2).map((c) => c.start()));
    for (const outcome of outcomes) {
      t.is(outcome.status, 'rejected');
      const error = (outcome as PromiseRejectedResult).reason;
      t.true(error instanceof AllReduceTimeoutError);
      t.deepEqual(error.missingRanks, [2]);
      t.regex(error.message, /start barrier timed out after 100 ms; never arrived: hello from rank 2/);
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

test('close() rejects pending operations with CollectiveClosedError and unsubscribes', async (t) => {
  const world = createWorld(2);
  const subject = allReduceSubject('job-1', 0);
  try {
    const starting = world.ranks[0]!.start();
    world.ranks[0]!.close();
    await t.throwsAsync(starting, { instanceOf: CollectiveClosedError });
    t.is(world.server.subscriptionCount(subject), 0);

    const again = createWorld(2);
    try {
      await Promise.all(again.ranks.map((c) => c.start()));
      t.is(again.server.subscriptionCount(subject), 2);
      const pending = again.ranks[0]!.allReduceSum(new Float32Array(4), 0);
      again.ranks[0]!.close();
      const error = await t.throwsAsync(pending, { instanceOf: CollectiveClosedError });
      t.is(error?.name, 'CollectiveClosedError');
      t.is(again.server.subscriptionCount(subject), 1);
      await t.throwsAsync(again.ranks[0]!.allReduceSum(new Float32Array(4), 1), { instanceOf: CollectiveClosedError });
    } finally {
      closeWorld(again);
    }
  } finally {
    closeWorld(world);
  }
});

test('ranks that disagree on the buffer length fail with AllReduceMismatchError', async (t) => {
  const world = createWorld(2);
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

test('broadcast delivers the root buffer to every rank for any root, length and chunking', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        worldSize: fc.integer({ min: 1, max: 5 }),
        lengths: fc.array(fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 3 }),
        roots: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        chunkElements: fc.integer({ min: 1, max: 500 }),
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
    chunkIndex: 2,
    chunkCount: 3,
    totalLength: 10,
    elementOffset: 7,
    elementCount: 3,
  });
  const bytes = encodeFrame(header, values);
  t.is(bytes.length, HEADER_BYTES + 12);
  const decoded = decodeFrame(bytes);
  t.deepEqual(decoded, { ...header, payload: values });

  const corrupt = (at: number, value: number) => Uint8Array.from(bytes, (b, i) => (i === at ? value : b));
  t.is(decodeFrame(bytes.subarray(0, bytes.length - 1)), null, 'truncated payload');
  t.is(decodeFrame(bytes.subarray(0, HEADER_BYTES - 1)), null, 'truncated header');
  t.is(decodeFrame(Uint8Array.of(...bytes, 0)), null, 'trailing byte');
  t.is(decodeFrame(corrupt(0, 0x00)), null, 'wrong magic');
  t.is(decodeFrame(corrupt(1, 2)), null, 'unknown version');
  t.is(decodeFrame(corrupt(2, 9)), null, 'unknown kind');
  t.is(decodeFrame(corrupt(3, 1)), null, 'reply flag on a data frame');
  t.is(decodeFrame(corrupt(28, 8)), null, 'chunk past the end of the buffer');

  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (random) => {
      const frame = decodeFrame(random);
      return frame === null || frame.payload.length === frame.elementCount;
    }),
  );
});

test('job ids become distinct, valid subject tokens', (t) => {
  t.is(allReduceSubject('mnist-7', 3), 'syncline.allreduce.mnist-7.3');
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
  const world = createWorld(1);
  try {
    await world.ranks[0]!.start();
    t.deepEqual([...(await world.ranks[0]!.allReduceSum(new Float32Array([0.1, -0]), 0))], [Math.fround(0.1), 0]);
    t.deepEqual([...(await world.ranks[0]!.broadcast(new Float32Array([2]), 1, 0, 0))], [2]);
    await t.throwsAsync(world.ranks[0]!.broadcast(null, 1, 0, 1), { instanceOf: TypeError });
    await t.throwsAsync(world.ranks[0]!.broadcast(new Float32Array(2), 1, 0, 1), { instanceOf: RangeError });
    await t.throwsAsync(world.ranks[0]!.broadcast(null, 1, 3, 1), { instanceOf: RangeError });
    await t.throwsAsync(world.ranks[0]!.allReduceSum(new Float32Array(1), -1), { instanceOf: RangeError });
  } finally {
    closeWorld(world);
  }
  const bus: MessageBus = new MemoryServer().connect();
  const valid = { bus, jobId: 'j', generation: 0, rank: 0, worldSize: 1, timeoutMs: 1 };
  for (const invalid of [
    { maxChunkBytes: HEADER_BYTES + 3 },
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

// Timeouts are what the collective owns (operation deadlines, hello retries); the fake server's
// setImmediate batches are its own and drain by themselves.
test.after('no timer outlives the collectives', (t) => {
  t.deepEqual(
    process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout'),
    [],
  );
});

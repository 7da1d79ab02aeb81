// All-reduce (every algorithm) and broadcast over a real nats-server whose small max_payload forces chunking.
import anyTest, { type TestFn } from 'ava';
import { NatsCredentialIssuer } from '@syncline/coordinator';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import type { NatsConnection } from 'nats';
import { Collective, type CollectiveOptions } from '../src/allreduce/collective.js';
import { NatsBus } from '../src/allreduce/nats-bus.js';
import { connectNats } from '../src/nats-connection.js';
import { AlgorithmName } from '../src/allreduce/round.js';
import {
  absSum,
  assertSameBits,
  assertWithin,
  moderateFloats,
  randomFloats,
  referenceSum,
  ringOrderSum,
  seededRandom,
} from './helpers/allreduce-reference.js';
import { RecordingBus } from './helpers/memory-bus.js';

const MAX_PAYLOAD = 64 * 1024;
const LENGTH = 300_000; // 1.2 MB per rank: about 19 messages of at most 64 KiB

const test = anyTest as TestFn<{ server: NatsServer }>;

test.before(async (t) => {
  t.context.server = await startNatsServer({ maxPayload: MAX_PAYLOAD });
});

test.after.always(async (t) => {
  await t.context.server?.stop();
});

interface Rank {
  nc: NatsConnection;
  bus: RecordingBus;
  collective: Collective;
}

/** One NATS connection per rank, like separate worker processes, each as the user a worker of the job gets; everything is closed afterwards. */
async function withRanks<T>(
  server: NatsServer,
  jobId: string,
  worldSize: number,
  body: (ranks: Rank[]) => Promise<T>,
  options: Pick<CollectiveOptions, 'algorithm' | 'compression'> = {},
): Promise<T> {
  const ranks: Rank[] = [];
  try {
    for (let rank = 0; rank < worldSize; rank++) {
      const nc = await connectNats(server.url, await new NatsCredentialIssuer(server.accountKey).worker({ jobId }), { name: `${jobId}-rank-${rank}` });
      const bus = new RecordingBus(new NatsBus(nc));
      ranks.push({ nc, bus, collective: new Collective({ bus, jobId, generation: 1, rank, worldSize, timeoutMs: 10_000, ...options }) });
    }
    return await body(ranks);
  } finally {
    for (const { collective } of ranks) collective.close();
    await Promise.all(ranks.map(({ nc }) => nc.close()));
  }
}

for (const algorithm of AlgorithmName) {
  for (const worldSize of [2, 3]) {
    test(`${algorithm}: ${worldSize} ranks sum ${LENGTH} floats over several steps, in messages within max_payload`, async (t) => {
      const jobId = `sum-${algorithm}-${worldSize}`;
      await withRanks(
        t.context.server,
        jobId,
        worldSize,
        async (ranks) => {
          t.is(ranks[0]!.bus.maxPayload, MAX_PAYLOAD);
          await Promise.all(ranks.map((r) => r.collective.start()));
          const random = seededRandom(worldSize);
          for (let step = 1; step <= 3; step++) {
            const inputs = ranks.map(() => randomFloats(LENGTH, random));
            const results = await Promise.all(ranks.map((r, rank) => r.collective.allReduceSum(inputs[rank]!, step)));
            const expected = algorithm === 'ring' ? ringOrderSum(inputs) : referenceSum(inputs);
            results.forEach((result, rank) => assertSameBits(result, expected, `rank ${rank} step ${step}`));
          }
          for (const { bus } of ranks) {
            t.true(bus.largest <= MAX_PAYLOAD, `largest message ${bus.largest} bytes`);
            // Every rank moves at least its share of the buffer in max_payload-sized messages per step.
            t.true(bus.count >= 3 * Math.ceil((LENGTH * 4) / worldSize / MAX_PAYLOAD));
          }
        },
        { algorithm },
      );
    });
  }
}

for (const [algorithm, compression] of [
  ['sharded', 'fp16'],
  ['ring', 'int8'],
  ['direct', 'int8'],
] as const) {
  test(`${algorithm} with ${compression}: 3 ranks agree bit for bit and stay near the exact sum`, async (t) => {
    await withRanks(
      t.context.server,
      `compressed-${algorithm}-${compression}`,
      3,
      async (ranks) => {
        await Promise.all(ranks.map((r) => r.collective.start()));
        const random = seededRandom(7);
        for (let step = 1; step <= 2; step++) {
          const inputs = ranks.map(() => moderateFloats(LENGTH, random, 0));
          const results = await Promise.all(ranks.map((r, rank) => r.collective.allReduceSum(inputs[rank]!, step)));
          results.forEach((result, rank) => assertSameBits(result, results[0]!, `rank ${rank} step ${step}`));
          const exact = new Float64Array(LENGTH);
          for (const input of inputs) for (let i = 0; i < LENGTH; i++) exact[i]! += input[i]!;
          const scale = absSum(inputs);
          // Loose on purpose (the tight bounds are property-tested in memory): fp16 within a few float16
          // roundings, int8 within a few quantization steps of inputs bounded by 1.
          const bound = compression === 'fp16' ? (i: number) => 8 * 2 ** -11 * scale[i]! + 2 ** -20 : () => 0.2;
          assertWithin(results[0]!, exact, bound, `${compression} step ${step}`);
        }
        // Uncompressed, each of these algorithms publishes at least S per rank and step (ring 4/3·S).
        for (const { bus } of ranks) {
          t.true(bus.largest <= MAX_PAYLOAD);
          t.true(bus.publishedBytes < 2 * LENGTH * 4 * 0.6, `${bus.publishedBytes} bytes published`);
        }
      },
      { algorithm, compression },
    );
  });
}

test('a rank that starts late joins the barrier, then rank 0 broadcasts to all', async (t) => {
  await withRanks(t.context.server, 'broadcast', 3, async (ranks) => {
    const early = ranks.slice(0, 2).map((r) => r.collective.start());
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Promise.all([...early, ranks[2]!.collective.start()]);
    const weights = randomFloats(LENGTH, seededRandom(42));
    const received = await Promise.all(
      ranks.map((r, rank) => r.collective.broadcast(rank === 0 ? weights : null, LENGTH, 0, 0)),
    );
    received.forEach((result, rank) => assertSameBits(result, weights, `rank ${rank}`));
    for (const { bus } of ranks) t.true(bus.largest <= MAX_PAYLOAD);
  });
});

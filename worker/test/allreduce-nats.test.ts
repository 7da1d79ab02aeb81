// All-reduce and broadcast over a real nats-server whose small max_payload forces chunking.
import anyTest, { type TestFn } from 'ava';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import type { NatsConnection } from 'nats';
import { Collective } from '../src/allreduce/collective.js';
import { connectNats, NatsBus } from '../src/allreduce/nats-bus.js';
import { assertSameBits, randomFloats, referenceSum, seededRandom } from './helpers/allreduce-reference.js';
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

/** One NATS connection per rank, like separate worker processes; everything is closed afterwards. */
async function withRanks<T>(
  url: string,
  jobId: string,
  worldSize: number,
  body: (ranks: Rank[]) => Promise<T>,
): Promise<T> {
  const ranks: Rank[] = [];
  try {
    for (let rank = 0; rank < worldSize; rank++) {
      const nc = await connectNats(url, `${jobId}-rank-${rank}`);
      const bus = new RecordingBus(new NatsBus(nc));
      ranks.push({ nc, bus, collective: new Collective({ bus, jobId, generation: 1, rank, worldSize, timeoutMs: 5_000 }) });
    }
    return await body(ranks);
  } finally {
    for (const { collective } of ranks) collective.close();
    await Promise.all(ranks.map(({ nc }) => nc.close()));
  }
}

for (const worldSize of [2, 3]) {
  test(`${worldSize} ranks sum ${LENGTH} floats over several steps, in messages within max_payload`, async (t) => {
    await withRanks(t.context.server.url, `sum-${worldSize}`, worldSize, async (ranks) => {
      t.is(ranks[0]!.bus.maxPayload, MAX_PAYLOAD);
      await Promise.all(ranks.map((r) => r.collective.start()));
      const random = seededRandom(worldSize);
      for (let step = 1; step <= 3; step++) {
        const inputs = ranks.map(() => randomFloats(LENGTH, random));
        const results = await Promise.all(ranks.map((r, rank) => r.collective.allReduceSum(inputs[rank]!, step)));
        const expected = referenceSum(inputs);
        results.forEach((result, rank) => assertSameBits(result, expected, `rank ${rank} step ${step}`));
      }
      for (const { bus } of ranks) {
        t.true(bus.largest <= MAX_PAYLOAD, `largest message ${bus.largest} bytes`);
        t.true(bus.count >= 3 * Math.ceil((LENGTH * 4) / MAX_PAYLOAD));
      }
    });
  });
}

test('a rank that starts late joins the barrier, then rank 0 broadcasts to all', async (t) => {
  await withRanks(t.context.server.url, 'broadcast', 3, async (ranks) => {
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

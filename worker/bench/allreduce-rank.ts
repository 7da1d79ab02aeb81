// One participant of the all-reduce benchmark, in its own process with its own NATS connection, like a
// worker. The parent (allreduce.ts) sends it commands over IPC; it answers each with its timings.
import type { NatsConnection, Subscription } from 'nats';
import { Collective } from '../src/allreduce/collective.js';
import { NatsBus } from '../src/allreduce/nats-bus.js';
import type { NatsCredentials } from '@syncline/proto';
import { connectNats } from '../src/nats-connection.js';
import type { AlgorithmName, Compression } from '../src/allreduce/round.js';
import { DEFAULT_IN_FLIGHT_BYTES, windowChunks } from '../src/allreduce/window.js';

export type RankCommand =
  | { type: 'allreduce'; id: string; algorithm: AlgorithmName; compression: Compression; bytes: number; reps: number; chunkBytes: number }
  | { type: 'raw-subscribe'; id: string }
  | { type: 'raw-publish'; id: string; bytes: number; reps: number; chunkBytes: number; subscribers: number }
  | { type: 'raw-unsubscribe'; id: string }
  | { type: 'exit' };

/** `seconds`: wall time per timed repetition; `cpuSeconds`: this process's CPU time over all of them. */
export interface RankResult {
  seconds: number[];
  cpuSeconds: number;
}
export type RankReply = ({ ok: true } & RankResult) | { ok: false; error: string };

const NOTHING: RankResult = { seconds: [], cpuSeconds: 0 };

const [url, rankArg, worldSizeArg] = process.argv.slice(2);
const rank = Number(rankArg);
const worldSize = Number(worldSizeArg);
const nc: NatsConnection = await connectNats(url!, JSON.parse(process.env.SYNCLINE_BENCH_NATS_CREDENTIALS ?? '{}') as NatsCredentials, { name: `bench-rank-${rank}` });
let raw: { subscription: Subscription; cpu: NodeJS.CpuUsage } | undefined;
// A server that drops a slow consumer shows up here, not as an error of any call.
void (async () => {
  for await (const status of nc.status()) {
    if (status.type !== 'pingTimer') console.error(`bench rank ${rank}: nats ${status.type} ${String(status.data)}`);
  }
})();

process.on('message', (command: RankCommand) => {
  handle(command).then(
    (result) => process.send!({ ok: true, ...result } satisfies RankReply),
    (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) } satisfies RankReply),
  );
});
process.send!({ ok: true, ...NOTHING } satisfies RankReply);
// Never outlive the benchmark that started us.
process.on('disconnect', () => process.exit(1));

async function handle(command: RankCommand): Promise<RankResult> {
  switch (command.type) {
    case 'allreduce':
      return allReduce(command);
    case 'raw-subscribe':
      raw = { subscription: subscribeRaw(command.id), cpu: process.cpuUsage() };
      await nc.flush();
      return NOTHING;
    case 'raw-publish':
      return publishRaw(command);
    case 'raw-unsubscribe': {
      // The CPU time this rank spent while subscribed (publishing included, for the publisher).
      const cpuSeconds = raw === undefined ? 0 : cpuSecondsSince(raw.cpu);
      raw?.subscription.unsubscribe();
      raw = undefined;
      return { seconds: [], cpuSeconds };
    }
    case 'exit':
      await nc.close();
      setImmediate(() => process.exit(0));
      return NOTHING;
  }
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1e6;
}

/** Seconds per step of `reps` steps, after one untimed step that also lines the ranks up. */
async function allReduce(c: Extract<RankCommand, { type: 'allreduce' }>): Promise<RankResult> {
  const collective = new Collective({
    bus: new NatsBus(nc),
    jobId: c.id,
    generation: 0,
    rank,
    worldSize,
    timeoutMs: 60_000,
    algorithm: c.algorithm,
    compression: c.compression,
    maxChunkBytes: c.chunkBytes,
  });
  try {
    await collective.start();
    const data = new Float32Array(c.bytes / 4);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i + rank);
    await collective.allReduceSum(data, 0);
    const seconds: number[] = [];
    const cpu = process.cpuUsage();
    for (let step = 1; step <= c.reps; step++) {
      const started = performance.now();
      await collective.allReduceSum(data, step);
      seconds.push((performance.now() - started) / 1000);
    }
    return { seconds, cpuSeconds: cpuSecondsSince(cpu) };
  } finally {
    collective.close();
  }
}

/** Acknowledges every message, naming this rank, so the publisher can keep its window like the algorithms do. */
function subscribeRaw(id: string): Subscription {
  const ack = Uint8Array.of(rank);
  return nc.subscribe(`bench.raw.${id}`, {
    callback: (err) => {
      if (err === null) nc.publish(`bench.rawack.${id}`, ack);
    },
  });
}

/**
 * Publishes the buffer `reps + 1` times (the first untimed) in chunks, keeping at most the algorithms'
 * in-flight budget unacknowledged by the slowest subscriber (more and the server drops it as a slow
 * consumer); each time until every subscriber has acknowledged every chunk.
 */
async function publishRaw(c: Extract<RankCommand, { type: 'raw-publish' }>): Promise<RankResult> {
  const chunkCount = Math.ceil(c.bytes / c.chunkBytes);
  const window = windowChunks(c.chunkBytes, 1, DEFAULT_IN_FLIGHT_BYTES);
  const chunk = new Uint8Array(c.chunkBytes);
  const acked = new Array<number>(c.subscribers).fill(0);
  let wake: () => void = () => {};
  const ackSub = nc.subscribe(`bench.rawack.${c.id}`, {
    callback: (err, msg) => {
      if (err !== null) return;
      acked[msg.data[0]!]!++;
      wake();
    },
  });
  await nc.flush();
  const seconds: number[] = [];
  let sent = 0;
  try {
    for (let rep = 0; rep <= c.reps; rep++) {
      const started = performance.now();
      const target = sent + chunkCount;
      for (;;) {
        const slowest = Math.min(...acked);
        if (sent < target && sent - slowest < window) {
          const offset = (sent - (target - chunkCount)) * c.chunkBytes;
          nc.publish(`bench.raw.${c.id}`, chunk.subarray(0, Math.min(c.chunkBytes, c.bytes - offset)));
          sent++;
        } else if (slowest >= target) {
          break;
        } else {
          await new Promise<void>((resolve) => (wake = resolve));
        }
      }
      if (rep > 0) seconds.push((performance.now() - started) / 1000);
    }
    return { seconds, cpuSeconds: 0 };
  } finally {
    ackSub.unsubscribe();
  }
}

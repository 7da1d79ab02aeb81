// All-reduce throughput through one nats-server, as a fraction of what plain publish/subscribe of the
// same bytes to the same number of subscribers achieves through that server in the same run.
//
// Each participant is its own process with its own connection (allreduce-rank.ts), as workers are in
// production: in one process every rank would share one event loop, so the benchmark would measure
// JavaScript taking turns rather than the server, and on a 2-core machine the OS could not overlap the
// ranks' decoding with the server's copying. Both measurements use the same processes.
//
// busBandwidth = bytes × 2(N−1)/N / seconds (NCCL's bus bandwidth: what each rank must move at least);
// rawThroughput = bytes / seconds for one rank publishing the buffer to all N (itself included), with
// the faster of 1 MiB and 8 MiB messages, and the same flow control as the all-reduce.
// Where the server's egress E is the limit, both are bounded by it: the all-reduce needs 2(N−1)·S out of
// the server, so busBandwidth ≤ E/N, and the raw fan-out N·S, so rawThroughput ≤ E/N: ratio ≤ 1 (more
// with compression, which moves fewer bytes than busBandwidth counts). On a small machine the CPU is
// the limit instead, and there the all-reduce also publishes N·S into the server where the fan-out
// publishes S: cpuRatio says what ratio the measured CPU costs allow, whatever else the machine runs.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NatsCredentialIssuer } from '@syncline/coordinator';
import { startNatsServer } from '@syncline/cli/nats-server';
import type { Bench, Emit } from '../../bench/registry.js';
import type { AlgorithmName, Compression } from '../src/allreduce/round.js';
import type { RankCommand, RankReply, RankResult } from './allreduce-rank.js';

const MB = 1024 * 1024;
const MAX_PAYLOAD = 8 * MB;
/** What the Collective uses unless told otherwise (collective.ts). */
const DEFAULT_CHUNK_BYTES = 1 * MB;

interface Config {
  algorithm: AlgorithmName;
  compression: Compression;
  /** Message size; the Collective's default unless set. */
  chunkBytes?: number;
  /** Only for buffers at least this large. */
  minBytes?: number;
}

const CONFIGS: readonly Config[] = [
  { algorithm: 'direct', compression: 'none' },
  { algorithm: 'ring', compression: 'none' },
  { algorithm: 'sharded', compression: 'none' },
  // The same with messages as large as the server allows, to show what bigger chunks do.
  { algorithm: 'sharded', compression: 'none', chunkBytes: MAX_PAYLOAD, minBytes: 16 * MB },
  { algorithm: 'sharded', compression: 'fp16' },
  { algorithm: 'sharded', compression: 'int8' },
];

export interface AllReduceBenchPlan {
  sizes: readonly number[];
  workers: readonly number[];
  configs: readonly Config[];
  /** Message sizes tried for the raw fan-out; the fastest is the bound. */
  rawChunkBytes: readonly number[];
}

const PLAN: AllReduceBenchPlan = {
  sizes: [1, 4, 16, 64].map((mb) => mb * MB),
  workers: [2, 4, 8],
  configs: CONFIGS,
  rawChunkBytes: [DEFAULT_CHUNK_BYTES, MAX_PAYLOAD],
};

/** Longer than the ranks' all-reduce timeout, so theirs reports first. */
const COMMAND_TIMEOUT_MS = 90_000;
/** Timed steps after one untimed: fewer for big buffers (6 up to 4 MB, 2 at 16 MB, 1 at 64 MB). */
const repsFor = (bytes: number) => Math.max(1, Math.min(6, Math.round((32 * MB) / bytes)));

export const allreduceBench: Bench = {
  name: 'allreduce',
  description:
    'all-reduce through one nats-server (max_payload 8 MB), one process per participant: busBandwidth and rawThroughput ' +
    'in bytes/s, ratio = busBandwidth / rawThroughput; CPU seconds per step (rankCpu: all ranks; serverCpu) and per raw ' +
    'buffer; cpuRatio = the ratio those CPU costs predict for a CPU-bound machine with no other load',
  run: (emit) => runAllReduceBench(emit, PLAN),
};

export async function runAllReduceBench(emit: Emit, plan: AllReduceBenchPlan): Promise<void> {
  const server = await startNatsServer({ maxPayload: MAX_PAYLOAD });
  const serverCpu = () => cpuSecondsOf(server.process.pid!);
  try {
    for (const workers of plan.workers) {
      let ranks = await RankProcesses.spawn(server.url, workers, JSON.stringify(await new NatsCredentialIssuer(server.accountKey).coordinator()));
      try {
        for (const bytes of plan.sizes) {
          const reps = repsFor(bytes);
          const raw = await bestRaw(ranks, bytes, reps, plan.rawChunkBytes, serverCpu);
          for (const config of plan.configs) {
            if (bytes < (config.minBytes ?? 0)) continue;
            const { algorithm, compression } = config;
            const chunkBytes = config.chunkBytes ?? DEFAULT_CHUNK_BYTES;
            const id = `${algorithm}-${compression}-${chunkBytes}-${bytes}-${workers}`;
            const figures = { algorithm, compression, bytes, workers };
            try {
              const before = serverCpu();
              const perRank = await ranks.all(() => ({ type: 'allreduce', id, algorithm, compression, bytes, reps, chunkBytes }));
              // The ranks' over the timed steps; the server's also covers the barrier and one warm-up step.
              const stepServerCpu = (serverCpu() - before) / (reps + 1);
              const rankCpu = perRank.reduce((sum, r) => sum + r.cpuSeconds, 0) / reps;
              // A step lasts until its slowest rank has the result.
              const seconds = mean(perRank[0]!.seconds.map((_, rep) => Math.max(...perRank.map((r) => r.seconds[rep]!))));
              const busBytes = (bytes * 2 * (workers - 1)) / workers;
              const busBandwidth = busBytes / seconds;
              emit({
                ...figures,
                seconds: round(seconds, 4),
                busBandwidth: Math.round(busBandwidth),
                rawThroughput: Math.round(raw.throughput),
                ratio: round(busBandwidth / raw.throughput, 3),
                chunkBytes,
                rawChunkBytes: raw.chunkBytes,
                reps,
                // Where the time goes, in CPU seconds per step (per buffer for the raw fan-out).
                rankCpu: round(rankCpu, 4),
                serverCpu: round(stepServerCpu, 4),
                rawRankCpu: round(raw.rankCpu, 4),
                rawServerCpu: round(raw.serverCpu, 4),
                cpuRatio: round(busBytes / (rankCpu + stepServerCpu) / (bytes / (raw.rankCpu + raw.serverCpu)), 3),
              });
            } catch (err) {
              // Report it and go on with fresh processes: one failure should not hide the other figures.
              emit({ ...figures, error: err instanceof Error ? err.message : String(err) });
              await ranks.close();
              ranks = await RankProcesses.spawn(server.url, workers, JSON.stringify(await new NatsCredentialIssuer(server.accountKey).coordinator()));
            }
          }
        }
      } finally {
        await ranks.close();
      }
    }
  } finally {
    await server.stop();
  }
}

interface RawFigures {
  throughput: number;
  chunkBytes: number;
  /** CPU seconds per buffer: all ranks, and the server. */
  rankCpu: number;
  serverCpu: number;
}

/** The raw fan-out with each message size; the fastest is the bound the all-reduce is held to. */
async function bestRaw(
  ranks: RankProcesses,
  bytes: number,
  reps: number,
  chunkSizes: readonly number[],
  serverCpu: () => number,
): Promise<RawFigures> {
  let best: RawFigures | undefined;
  for (const chunkBytes of chunkSizes) {
    const before = serverCpu();
    const raw = await rawRun(ranks, bytes, reps, chunkBytes);
    const figures = {
      throughput: bytes / mean(raw.seconds),
      chunkBytes,
      // Per buffer published, the untimed first one included.
      rankCpu: raw.rankCpu / (reps + 1),
      serverCpu: (serverCpu() - before) / (reps + 1),
    };
    if (best === undefined || figures.throughput > best.throughput) best = figures;
  }
  return best!;
}

/**
 * Rank 0 publishes the buffer to a subject all ranks (itself included) subscribe to: seconds per buffer,
 * and the CPU seconds all ranks spent on the whole run.
 */
async function rawRun(ranks: RankProcesses, bytes: number, reps: number, chunkBytes: number): Promise<{ seconds: number[]; rankCpu: number }> {
  const id = `raw-${chunkBytes}-${bytes}-${ranks.size}`;
  await ranks.all(() => ({ type: 'raw-subscribe', id }));
  const { seconds } = await ranks.one(0, { type: 'raw-publish', id, bytes, reps, chunkBytes, subscribers: ranks.size });
  const unsubscribed = await ranks.all(() => ({ type: 'raw-unsubscribe', id }));
  return { seconds, rankCpu: unsubscribed.reduce((sum, r) => sum + r.cpuSeconds, 0) };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, fields 14 and 15 of stat(5), in clock ticks of 1/100 s on Linux.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

class RankProcesses {
  private readonly waiting: ((reply: RankReply) => void)[][];

  private constructor(private readonly children: ChildProcess[]) {
    this.waiting = children.map(() => []);
    children.forEach((child, rank) => {
      child.on('message', (reply: RankReply) => this.waiting[rank]!.shift()?.(reply));
      child.on('exit', (code) => {
        for (const resolve of this.waiting[rank]!.splice(0)) resolve({ ok: false, error: `rank ${rank} exited with code ${code}` });
      });
    });
  }

  /** `credentials`: JSON of the NATS user the ranks connect as (one of the whole account: raw subjects too). */
  static async spawn(url: string, size: number, credentials: string): Promise<RankProcesses> {
    const entry = fileURLToPath(new URL('./allreduce-rank.ts', import.meta.url));
    const children = Array.from({ length: size }, (_, rank) =>
      fork(entry, [url, String(rank), String(size)], { execArgv: ['--import', 'tsx'], env: { ...process.env, SYNCLINE_BENCH_NATS_CREDENTIALS: credentials }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    const ranks = new RankProcesses(children);
    // Each child says hello once it is connected.
    await Promise.all(children.map((_, rank) => ranks.reply(rank)));
    return ranks;
  }

  get size(): number {
    return this.children.length;
  }

  all(command: (rank: number) => RankCommand): Promise<RankResult[]> {
    return Promise.all(this.children.map((_, rank) => this.one(rank, command(rank))));
  }

  async one(rank: number, command: RankCommand, timeoutMs = COMMAND_TIMEOUT_MS): Promise<RankResult> {
    const reply = this.reply(rank, timeoutMs);
    this.children[rank]!.send(command);
    return reply;
  }

  async close(): Promise<void> {
    const exited = this.children.map((child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null))));
    await Promise.allSettled(this.children.map((_, rank) => this.one(rank, { type: 'exit' }, 5_000)));
    await Promise.race([Promise.all(exited), new Promise((resolve) => setTimeout(resolve, 5_000))]);
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill();
  }

  private reply(rank: number, timeoutMs = COMMAND_TIMEOUT_MS): Promise<RankResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`rank ${rank}: no answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiting[rank]!.push((reply) => {
        clearTimeout(timer);
        if (reply.ok) resolve({ seconds: reply.seconds, cpuSeconds: reply.cpuSeconds });
        else reject(new Error(`rank ${rank}: ${reply.error}`));
      });
    });
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

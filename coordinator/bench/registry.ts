// `npm run bench -- registry`: requests per second of the coordinator's model registry against
// a plain Node static file server (serve-static) serving the same bytes, in the same run.
// Two workloads an SDK fleet makes: revalidating `latest/model.json` with its ETag (304s), and
// downloading a 1 MiB weight shard by version. Each server runs in its own process; the load
// comes from this one over keep-alive connections: autocannon for the small 304s; for the
// shards a plain node:http client, because autocannon's parser, not the server, is what
// saturates on megabyte bodies (about 50 requests/s where node:http takes 500 from the same
// server). Rounds alternate between the servers, so a change in the machine's load hits both;
// the figure is the ratio of medians.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Agent, get } from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { jobBucket } from '@syncline/proto';
import { startNatsServer } from '@syncline/cli/nats-server';
import type { Bench } from '../../bench/registry.js';
import { NatsCredentialIssuer } from '../src/nats-auth/index.js';
import { ModelRegistry } from '../src/registry/model-registry.js';
import { connectNats } from '../src/store/nats-connection.js';

const here = dirname(fileURLToPath(import.meta.url));
const SHARD_FLOATS = 256 * 1024;
const ROUNDS = Number(process.env.SYNCLINE_BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.SYNCLINE_BENCH_SECONDS ?? 5);
const CONNECTIONS = 32;
const PEAK_RATE = Number(process.env.SYNCLINE_LOAD_RATE ?? 1500);

function startServer(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'registry-server.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /url=(\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`registry-server ${args[0]} exited with ${code}`)));
  });
}

async function requestsPerSecond(url: string, headers: Record<string, string>, expectStatus: number, overallRate?: number): Promise<{ rps: number; p50: number; p99: number }> {
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: SECONDS, ...(overallRate && { overallRate }) });
  const answered = expectStatus === 200 ? result['2xx'] : result['3xx'];
  // Every answer must be the expected one (a 304 only while the ETag matches).
  if (result.errors > 0 || result.requests.total === 0 || answered !== result.requests.total) {
    throw new Error(`${url}: ${result.errors} errors, ${answered} of ${result.requests.total} answered ${expectStatus}`);
  }
  return { rps: result.requests.total / (result.duration || SECONDS), p50: result.latency.p50, p99: result.latency.p99 };
}

/** `connections` keep-alive loops downloading `url` for SECONDS; bodies are read and dropped. */
async function downloadsPerSecond(url: string, expectStatus: number): Promise<{ rps: number; p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + SECONDS * 1000;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      get(url, { agent }, (res) => {
        if (res.statusCode !== expectStatus) reject(new Error(`${url} answered ${res.statusCode}, expected ${expectStatus}`));
        res.on('data', () => undefined);
        res.on('end', () => {
          latencies.push(performance.now() - t0);
          resolve();
        });
      }).on('error', reject);
    });
  try {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < end) await one();
      }),
    );
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
  return { rps: latencies.length / ((performance.now() - started) / 1000), p50: at(0.5), p99: at(0.99) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const registryBench: Bench = {
  name: 'registry',
  description: `HTTP registry vs serve-static (same bytes): latest revalidations (304) and 1 MiB shard downloads, ${CONNECTIONS} keep-alive connections, ${ROUNDS} alternating rounds of ${SECONDS} s`,
  async run(emit) {
    const nats = await startNatsServer();
    const folder = await mkdtemp(join(tmpdir(), 'syncline-bench-registry-'));
    const children: ChildProcess[] = [];
    try {
      // A published model: one 1 MiB shard, the size class of the examples' models.
      const shard = new Uint8Array(Float32Array.from({ length: SHARD_FLOATS }, (_, i) => Math.sin(i)).buffer);
      const modelJson = {
        format: 'layers-model',
        modelTopology: { class_name: 'Sequential', config: { name: 'bench' } },
        weightsManifest: [
          { paths: ['group1-shard1of1.bin'], sha256: [createHash('sha256').update(shard).digest('hex')], weights: [{ name: 'w', shape: [SHARD_FLOATS], dtype: 'float32' }] },
        ],
      };
      const nc = await connectNats(nats.url, await new NatsCredentialIssuer(nats.accountKey).coordinator());
      const store = await nc.jetstream().views.os(jobBucket('bench'));
      await store.putBlob({ name: 'bench/group1-shard1of1.bin' }, shard);
      await store.putBlob({ name: 'bench/model.json' }, new TextEncoder().encode(JSON.stringify(modelJson)));
      const publisher = await ModelRegistry.open(nc);
      await publisher.publish('bench', 'bench', 'bench', undefined);
      publisher.close();
      await nc.drain();

      const coordinator = await startServer(['coordinator', nats.url, JSON.stringify(nats.accountKey)]);
      children.push(coordinator.child);
      // The static server gets the very bytes the coordinator serves, at the same paths.
      const served = (path: string) => fetch(`${coordinator.url}/v1/models/bench/${path}`).then(async (r) => new Uint8Array(await r.arrayBuffer()));
      await mkdir(join(folder, 'v1', 'models', 'bench', 'latest'), { recursive: true });
      await mkdir(join(folder, 'v1', 'models', 'bench', '1'), { recursive: true });
      await writeFile(join(folder, 'v1', 'models', 'bench', 'latest', 'model.json'), await served('latest/model.json'));
      await writeFile(join(folder, 'v1', 'models', 'bench', '1', 'group1-shard1of1.bin'), await served('1/group1-shard1of1.bin'));
      const plain = await startServer(['static', folder]);
      children.push(plain.child);

      const workloads = [
        { workload: 'latest-revalidation', path: 'latest/model.json', status: 304 },
        { workload: 'shard-download', path: '1/group1-shard1of1.bin', status: 200 },
      ];
      for (const w of workloads) {
        const runs: Record<'registry' | 'static', { rps: number; p50: number; p99: number }[]> = { registry: [], static: [] };
        for (let round = 0; round < ROUNDS; round++) {
          for (const [label, base] of [['static', plain.url], ['registry', coordinator.url]] as const) {
            const url = `${base}/v1/models/bench/${w.path}`;
            const headers: Record<string, string> = {};
            if (w.status === 304) headers['if-none-match'] = (await fetch(url)).headers.get('etag') ?? '';
            runs[label].push(w.status === 304 ? await requestsPerSecond(url, headers, w.status) : await downloadsPerSecond(url, w.status));
          }
        }
        const registry = median(runs.registry.map((r) => r.rps));
        const plainRps = median(runs.static.map((r) => r.rps));
        emit({
          workload: w.workload,
          registryRps: Math.round(registry),
          staticRps: Math.round(plainRps),
          ratio: Number((registry / plainRps).toFixed(3)),
          registryP99Ms: median(runs.registry.map((r) => r.p99)),
          staticP99Ms: median(runs.static.map((r) => r.p99)),
          connections: CONNECTIONS,
          rounds: ROUNDS,
        });
      }
      // The k6 script's peak (load-tests/registry.js, SYNCLINE_LOAD_RATE): latency at that fixed rate.
      const url = `${coordinator.url}/v1/models/bench/latest/model.json`;
      const etag = (await fetch(url)).headers.get('etag') ?? '';
      const peak = await requestsPerSecond(url, { 'if-none-match': etag }, 304, PEAK_RATE);
      emit({ workload: 'latest-revalidation-at-peak', rate: PEAK_RATE, registryRps: Math.round(peak.rps), registryP50Ms: peak.p50, registryP99Ms: peak.p99 });
    } finally {
      for (const child of children) child.kill('SIGTERM');
      await rm(folder, { recursive: true, force: true });
      await nats.stop();
    }
  },
};

// `scaling`: the cost of being a cluster, in two figures measured in the same run.
//
// Native (one worker per host, threads on every core): the local cluster's samples/s
// (coordinator, NATS, one native worker) over single-process native training of the same model
// and batch on the same cores (worker/bench/native-train.ts, its own process) — `ratio`, goal
// >= 0.9. Both train the MLP (784-256-10) and the Keras CNN at batch 256 with SGD.
//
// wasm (one single-threaded worker per core): samples/s of synchronous data-parallel training
// with 1, 2 and 4 workers (SYNCLINE_SCALING_WORKERS overrides, e.g. "1,2,4,8,16" on a 16-core
// machine) on the mnist MLP and the Keras CNN. Efficiency is the N-worker rate over N times
// the one-worker rate, both measured in this run.
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { JobSpec, type StepMetrics } from '@syncline/proto';
import { loadAddon } from '@syncline/worker/native';
import type { Bench, Emit } from '../../bench/registry.js';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster } from '../src/local-cluster.js';

const nativeTrain = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'worker', 'bench', 'native-train.ts');

const MODELS: Record<string, { layers: unknown[]; batchPerWorker: number; steps: number }> = {
  'mnist-mlp': {
    layers: [{ dense: { units: 128, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
    batchPerWorker: 128,
    steps: 60,
  },
  'keras-cnn': {
    layers: [
      { reshape: { targetShape: [28, 28, 1] } },
      { conv2d: { filters: 32, kernelSize: [3], activation: 'relu' } },
      { conv2d: { filters: 64, kernelSize: [3], activation: 'relu' } },
      { maxPooling2d: { poolSize: [2] } },
      { flatten: {} },
      { dense: { units: 128, activation: 'relu' } },
      { dense: { units: 10, activation: 'softmax' } },
    ],
    batchPerWorker: 32,
    steps: 12,
  },
};

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** The native comparison's models: the same layers as worker/bench/models.ts, on mnist rows. */
const NATIVE_MODELS: Record<string, { bench: string; layers: unknown[]; steps: number }> = {
  'mnist-mlp': { bench: 'mlp', layers: [{ dense: { units: 256, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }], steps: 120 },
  'keras-cnn': { bench: 'cnn', layers: MODELS['keras-cnn']!.layers, steps: 12 },
};
const NATIVE_BATCH = 256;

interface Run {
  layers: unknown[];
  batch: number;
  steps: number;
  momentum: number;
}

async function measure(model: string, workers: number): Promise<{ samplesPerSecond: number; commFraction: number }> {
  const m = MODELS[model]!;
  return measureCluster({ layers: m.layers, batch: m.batchPerWorker * workers, steps: m.steps, momentum: 0.9 }, workers);
}

async function measureCluster(m: Run, workers: number): Promise<{ samplesPerSecond: number; commFraction: number }> {
  // SYNCLINE_BENCH_LOG=1 shows the cluster's own log lines on stderr.
  const cluster = await startLocalCluster({ workers, ...(process.env.SYNCLINE_BENCH_LOG ? { log: (l: string) => console.error(`  ${l}`) } : {}) });
  const client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
  try {
    const spec = JobSpec.fromJSON({
      name: 'scaling',
      model: { layers: m.layers, loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.01, momentum: m.momentum } } },
      dataset: { name: 'mnist' },
      training: { epochs: 100, globalBatchSize: m.batch, seed: 1, maxSteps: m.steps, fixedShares: true },
      workers: { min: workers, max: workers },
    });
    const metrics: StepMetrics[] = [];
    const job = await client.submit(spec);
    const final = await client.watch(job.id, { metrics: (x) => metrics.push(x) });
    if (final.result === undefined) throw new Error(`scaling job ended without a result: ${final.error}`);
    // Skip the first steps (kernel warm-up, first allocations).
    const steady = metrics.slice(Math.min(3, metrics.length - 1));
    return { samplesPerSecond: median(steady.map((x) => x.samplesPerSecond)), commFraction: median(steady.map((x) => x.commFraction)) };
  } finally {
    client.close();
    await cluster.stop();
  }
}

/** Single-process native training on every core, as its own process (see native-train.ts). */
async function singleProcess(bench: string, threads: number): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', nativeTrain, bench, String(threads), '4'], { maxBuffer: 2 ** 20 });
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error('native-train printed no result');
  return (JSON.parse(line) as { samplesPerSecond: number }).samplesPerSecond;
}

/** Runs `f` with workers forced onto one backend (they read SYNCLINE_BACKEND). */
async function withWorkerBackend<T>(backend: string, f: () => Promise<T>): Promise<T> {
  const before = process.env.SYNCLINE_BACKEND;
  process.env.SYNCLINE_BACKEND = backend;
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env.SYNCLINE_BACKEND;
    else process.env.SYNCLINE_BACKEND = before;
  }
}

async function nativeCluster(emit: Emit): Promise<void> {
  const load = loadAddon();
  if ('reason' in load) {
    emit({ backend: 'native', error: load.reason });
    return;
  }
  const cores = availableParallelism();
  for (const [model, m] of Object.entries(NATIVE_MODELS)) {
    // Alternated twice, each side keeping its better run: a busy machine slows both alike.
    let cluster = 0;
    let single = 0;
    let commFraction = 0;
    for (let round = 0; round < 2; round++) {
      const c = await withWorkerBackend('native', () => measureCluster({ layers: m.layers, batch: NATIVE_BATCH, steps: m.steps, momentum: 0 }, 1));
      if (c.samplesPerSecond > cluster) [cluster, commFraction] = [c.samplesPerSecond, c.commFraction];
      single = Math.max(single, await singleProcess(m.bench, cores));
    }
    emit({ backend: 'native', model, workers: 1, threads: cores, batch: NATIVE_BATCH, clusterSamplesPerSecond: Math.round(cluster), singleProcessSamplesPerSecond: single, ratio: Number((cluster / single).toFixed(3)), commFraction: Number(commFraction.toFixed(3)) });
  }
}

export const scalingBench: Bench = {
  name: 'scaling',
  description: 'the cost of being a cluster: one native worker per host vs single-process native training on the same cores; N wasm workers vs one',
  async run(emit: Emit) {
    await nativeCluster(emit);
    const counts = (process.env.SYNCLINE_SCALING_WORKERS ?? '1,2,4').split(',').map(Number);
    for (const model of Object.keys(MODELS)) {
      let one = 0;
      for (const workers of counts) {
        const r = await withWorkerBackend('wasm', () => measure(model, workers));
        if (workers === 1) one = r.samplesPerSecond;
        emit({
          backend: 'wasm',
          model,
          workers,
          cores: availableParallelism(),
          samplesPerSecond: Math.round(r.samplesPerSecond),
          efficiency: one > 0 ? Number((r.samplesPerSecond / (workers * one)).toFixed(3)) : null,
          commFraction: Number(r.commFraction.toFixed(3)),
        });
      }
    }
  },
};

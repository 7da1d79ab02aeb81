// `scaling`: samples per second of synchronous data-parallel training with 1, 2 and 4 workers
// (SYNCLINE_SCALING_WORKERS overrides, e.g. "1,2,4,8,16" on a 16-core machine) on the
// mnist MLP and the Keras CNN of ANCHORS.md, through the real local cluster. Efficiency is
// the N-worker rate over N times the one-worker rate, both measured in this run.
import { availableParallelism } from 'node:os';
import { JobSpec, type StepMetrics } from '@syncline/proto';
import type { Bench, Emit } from '../../bench/registry.js';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster } from '../src/local-cluster.js';

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

async function measure(model: string, workers: number): Promise<{ samplesPerSecond: number; commFraction: number }> {
  const m = MODELS[model]!;
  // SYNCLINE_BENCH_LOG=1 shows the cluster's own log lines on stderr.
  const cluster = await startLocalCluster({ workers, ...(process.env.SYNCLINE_BENCH_LOG ? { log: (l: string) => console.error(`  ${l}`) } : {}) });
  const client = new SynclineClient(cluster.coordinator.grpcAddress);
  try {
    // Weak scaling: the global batch grows with the workers, as data-parallel training does.
    const spec = JobSpec.fromJSON({
      name: `scaling-${model}`,
      model: { layers: m.layers, loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.01, momentum: 0.9 } } },
      dataset: { name: 'mnist' },
      training: { epochs: 100, globalBatchSize: m.batchPerWorker * workers, seed: 1, maxSteps: m.steps, fixedShares: true },
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

export const scalingBench: Bench = {
  name: 'scaling',
  description: 'samples/s of N-worker data-parallel training vs one worker (local cluster, weak scaling)',
  async run(emit: Emit) {
    const counts = (process.env.SYNCLINE_SCALING_WORKERS ?? '1,2,4').split(',').map(Number);
    for (const model of Object.keys(MODELS)) {
      let one = 0;
      for (const workers of counts) {
        const r = await measure(model, workers);
        if (workers === 1) one = r.samplesPerSecond;
        emit({
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

// Training speed of one worker process on the wasm backend, as a fraction of that backend's own
// matrix-product speed measured in the same run ("roofline"), and the matrix products
// themselves with the backend's BatchMatMul kernel and with ours.
//
// A step is what a worker runs: Trainer.step (forward, backward, the fusion buffer out and back
// as if all-reduced over one rank, optimizer update) on random data.
//   stepFlops = 3 x 2 x (forward multiply-adds of the dense and conv2d layers) x batch
// (a multiply-add is 2 FLOPs; forward + backward is about 3 forwards), so flopsPerSecond =
// stepFlops / step time, matmulFlopsPerSecond = 2 x 1024^3 / time of a 1024x1024x1024 product
// without transposes, roofline = flopsPerSecond / matmulFlopsPerSecond. Times are medians;
// the product is timed between steps so both see the same machine load. rooflineCpu is the
// same ratio from the process's CPU time (steady on a shared machine, where wall time is not).
// kernelMs / topKernelsMs profile one step: what the kernels took; the rest of stepMs is
// per-op overhead, heap copies and the fusion buffer.
// Each model is measured with our kernels ("syncline") and with the backend's own where ours
// replace them ("backend"; kernels the backend lacks stay ours, or the CNN could not train).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { JobSpec } from '@syncline/proto';
import type { Bench, Emit } from '../../bench/registry.js';
import { selectBackend } from '../src/backend.js';
import type { DatasetShape } from '../src/data/dataset.js';
import { registerTrainingKernels, replacedKernel, restoreBackendKernels } from '../src/kernels/register.js';
import { Trainer, soloAllReduce } from '../src/train/trainer.js';
import { deviceTrainBench } from './train-device.js';

const BATCH = 256;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median milliseconds of `f` over `reps` runs after one warm-up run. */
function timeMs(f: () => void, reps: number): number {
  f();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    f();
    times.push(performance.now() - start);
  }
  return median(times);
}

type KernelFunc = NonNullable<ReturnType<typeof tf.getKernel>>['kernelFunc'];

/** GFLOP/s of one product through a BatchMatMul kernel function, called directly. */
function matMulRate(kernelFunc: KernelFunc, m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, reps: number): number {
  const backend = tf.backend() as BackendWasm;
  const a = tf.randomNormal(transposeA ? [k, m] : [m, k]);
  const b = tf.randomNormal(transposeB ? [n, k] : [k, n]);
  const ms = timeMs(() => {
    const out = kernelFunc({ inputs: { a, b }, backend, attrs: { transposeA, transposeB } });
    for (const t of Array.isArray(out) ? out : [out]) backend.disposeData(t.dataId);
  }, reps);
  tf.dispose([a, b]);
  return (2 * m * k * n) / ms / 1e6;
}

function ourMatMul(): KernelFunc {
  const kernel = tf.getKernel('BatchMatMul', 'wasm');
  if (!kernel) throw new Error('no BatchMatMul kernel on wasm');
  return kernel.kernelFunc;
}

/** The roofline's denominator: a 1024x1024x1024 product without transposes. */
const PEAK_FLOP = 2 * 1024 ** 3;
function peakProduct(): { time(): Timing; dispose(): void } {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const time = () => timed(() => tf.matMul(a, b).dispose());
  time();
  return { time, dispose: () => tf.dispose([a, b]) };
}

/** Wall-clock and CPU milliseconds (the process's user + system time: on a loaded machine
 * the wall clock counts other processes' turns too, the CPU time only ours). */
interface Timing {
  wall: number;
  cpu: number;
}

function timed(f: () => void): Timing {
  const cpu = process.cpuUsage();
  const start = performance.now();
  f();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

async function timedAsync(f: () => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await f();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

export interface Model {
  name: string;
  layers: unknown[];
  inputShape: number[];
}

export const MLP: Model = {
  name: 'train-mlp',
  inputShape: [784],
  layers: [{ dense: { units: 256, activation: 'relu', kernelInitializer: 'glorotUniform' } }, { dense: { units: 10, activation: 'softmax', kernelInitializer: 'glorotUniform' } }],
};

const conv = (filters: number) => ({ conv2d: { filters, kernelSize: [3, 3], strides: [1, 1], padding: 'valid', activation: 'relu', kernelInitializer: 'glorotUniform' } });
export const CNN: Model = {
  name: 'train-cnn',
  inputShape: [28, 28, 1],
  layers: [
    conv(32),
    conv(64),
    { maxPooling2d: { poolSize: [2, 2], strides: [2, 2], padding: 'valid' } },
    { flatten: {} },
    { dense: { units: 128, activation: 'relu', kernelInitializer: 'glorotUniform' } },
    { dense: { units: 10, activation: 'softmax', kernelInitializer: 'glorotUniform' } },
  ],
};

/** Multiply-adds of one sample's forward pass through the dense and conv2d layers. */
export function forwardMultiplyAdds(model: tf.LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const kernel = layer.weights[0];
    if (!kernel) continue;
    const kernelSize = kernel.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const cls = layer.getClassName();
    if (cls === 'Dense') total += kernelSize;
    else if (cls === 'Conv2D') {
      const [, h, w] = layer.outputShape as number[];
      total += h! * w! * kernelSize;
    }
  }
  return total;
}

/**
 * Where one step's time goes: the kernels' total (the rest is per-op overhead, copies in and
 * out of the heap, and the fusion buffer), and the kernels that took most, in ms.
 */
export async function kernelTimes(step: () => Promise<unknown>): Promise<{ kernelMs: number; kernelCalls: number; topKernelsMs: Record<string, number> }> {
  const profile = await tf.profile(async () => {
    await step();
  });
  const byName = new Map<string, number>();
  let total = 0;
  for (const k of profile.kernels) {
    // Custom-gradient wrappers (names ending in __op) time the kernels they contain.
    if (k.name.endsWith('__op')) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byName.set(k.name, (byName.get(k.name) ?? 0) + ms);
    total += ms;
  }
  const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6);
  return { kernelMs: Number(total.toFixed(1)), kernelCalls: profile.kernels.length, topKernelsMs: Object.fromEntries(top.map(([name, ms]) => [name, Number(ms.toFixed(1))])) };
}

async function trainBench(model: Model, reps: { syncline: number; backend: number }, emit: Emit): Promise<void> {
  await selectBackend('wasm');
  const spec = JobSpec.fromJSON({
    name: model.name,
    model: { layers: model.layers, loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.01 } } },
    dataset: { name: 'random' },
    training: { epochs: 1, globalBatchSize: BATCH, seed: 1 },
    workers: { min: 1, max: 1 },
  });
  const featureSize = model.inputShape.reduce((a, b) => a * b, 1);
  const shape: DatasetShape = { inputShape: model.inputShape, featureSize, target: { kind: 'classes', classes: 10 }, targetSize: 10 };
  const x = Float32Array.from({ length: BATCH * featureSize }, () => Math.random());
  const y = new Float32Array(BATCH * 10);
  const samples = Uint32Array.from({ length: BATCH }, (_, i) => i);
  for (let i = 0; i < BATCH; i++) y[i * 10 + (i % 10)] = 1;

  for (const kernels of ['syncline', 'backend'] as const) {
    if (kernels === 'backend') restoreBackendKernels('wasm');
    const trainer = new Trainer(spec, shape);
    const peak = peakProduct();
    try {
      const stepFlops = 3 * 2 * forwardMultiplyAdds(trainer.model) * BATCH;
      // One replica's all-reduce is the identity; it resolves at once. The reference product
      // is timed between steps, so both see the same machine load.
      const step = () => trainer.step({ x, y, count: BATCH, epoch: 0, samples }, 1, soloAllReduce(trainer));
      await step();
      const steps: Timing[] = [];
      const peaks: Timing[] = [];
      for (let i = 0; i < reps[kernels]; i++) {
        steps.push(await timedAsync(step));
        peaks.push(peak.time());
      }
      const stepMs = median(steps.map((t) => t.wall));
      const flopsPerSecond = stepFlops / (stepMs / 1000);
      const matmulFlopsPerSecond = PEAK_FLOP / (median(peaks.map((t) => t.wall)) / 1000);
      const rooflineCpu = stepFlops / median(steps.map((t) => t.cpu)) / (PEAK_FLOP / median(peaks.map((t) => t.cpu)));
      const profile = await kernelTimes(() => trainer.step({ x, y, count: BATCH, epoch: 0, samples }, 1, soloAllReduce(trainer)));
      emit({
        backend: 'wasm',
        kernels,
        batch: BATCH,
        samplesPerSecond: Math.round(BATCH / (stepMs / 1000)),
        stepFlops,
        flopsPerSecond: Math.round(flopsPerSecond),
        matmulFlopsPerSecond: Math.round(matmulFlopsPerSecond),
        roofline: Number((flopsPerSecond / matmulFlopsPerSecond).toFixed(3)),
        rooflineCpu: Number(rooflineCpu.toFixed(3)),
        stepMs: Number(stepMs.toFixed(1)),
        stepCpuMs: Number(median(steps.map((t) => t.cpu)).toFixed(1)),
        ...profile,
      });
    } finally {
      peak.dispose();
      trainer.dispose();
      registerTrainingKernels('wasm');
    }
  }
}

export const trainMlpBench: Bench = {
  name: 'train-mlp',
  description: `one worker on wasm (or --backend), MLP 784-256-10, batch ${BATCH}, SGD: samples/s and FLOP/s as a fraction of wasm's 1024^3 matmul (roofline)`,
  run: (emit, options) => (options?.backend && options.backend !== 'wasm' ? deviceTrainBench(MLP, options.backend, options.batch ?? BATCH, emit) : trainBench(MLP, { syncline: 15, backend: 5 }, emit)),
};

export const trainCnnBench: Bench = {
  name: 'train-cnn',
  description: `one worker on wasm (or --backend), Keras CNN (conv32-conv64-pool-dense128-dense10, 28x28x1), batch ${BATCH}, SGD: samples/s and roofline`,
  run: (emit, options) => (options?.backend && options.backend !== 'wasm' ? deviceTrainBench(CNN, options.backend, options.batch ?? BATCH, emit) : trainBench(CNN, { syncline: 5, backend: 2 }, emit)),
};

const PRODUCTS: [string, number, number, number, boolean, boolean][] = [
  ['1024x1024x1024', 1024, 1024, 1024, false, false],
  ['256x784x256 (MLP forward)', 256, 784, 256, false, false],
  ['784x256x256 transposeA (weight gradient)', 784, 256, 256, true, false],
  ['256x256x784 transposeB (input gradient)', 256, 256, 784, false, true],
];

export const matmulBench: Bench = {
  name: 'matmul',
  description: "wasm matrix products (M x K x N) in GFLOP/s through the backend's own BatchMatMul kernel and through ours",
  async run(emit) {
    await selectBackend('wasm');
    const backendKernel = replacedKernel('BatchMatMul', 'wasm');
    if (!backendKernel) throw new Error("the backend's own BatchMatMul was not recorded");
    for (const [product, m, k, n, transposeA, transposeB] of PRODUCTS) {
      const reps = m * k * n > 1e8 ? 3 : 10;
      const backendGflops = matMulRate(backendKernel.kernelFunc, m, k, n, transposeA, transposeB, reps);
      const synclineGflops = matMulRate(ourMatMul(), m, k, n, transposeA, transposeB, reps);
      emit({ backend: 'wasm', product, backendGflops: Number(backendGflops.toFixed(2)), synclineGflops: Number(synclineGflops.toFixed(2)), speedup: Number((synclineGflops / backendGflops).toFixed(2)) });
    }
  },
};

export const trainBenches: Bench[] = [matmulBench, trainMlpBench, trainCnnBench];

// Training speed of one worker on a backend other than wasm (webgpu above all):
// `npm run bench -- train-cnn --backend webgpu [--batch 1024]`. A step is Trainer.step on random
// data (forward, backward, the fusion buffer read back once, the update); on a GPU its time
// splits into phases:
//   gradientsMs  forward + backward on the device and the one read of the fusion buffer
//   readbackMs   that read alone: the same number of floats from a tensor already computed
//   applyMs      the mean gradients uploaded and the optimizer's update, until the device is done
// roofline = the step's FLOP/s over the backend's own 1024^3 product in the same run; kernelMs /
// topKernelsMs profile one step (on webgpu, GPU time from timestamp queries where the adapter has them).
// Where Syncline replaces kernels of the backend (webgpu: our WGSL products, convolutions and
// convolution gradients) the step is measured with ours ("kernels": "syncline", with "ours": the
// kernels that were ours, and "declined": calls ours handed to TF.js's kernels, by reason) and
// with the backend's own ("backend").
import * as tf from '@tensorflow/tfjs';
import { JobSpec } from '@syncline/proto';
import type { Emit } from '../../bench/registry.js';
import { selectBackend } from '../src/backend.js';
import type { DatasetShape } from '../src/data/dataset.js';
import { declinedCalls, resetDeclinedCalls } from '../src/backends/webgpu/kernels/theirs.js';
import { oursRegistered, registerTrainingKernels, restoreBackendKernels } from '../src/kernels/register.js';
import { Trainer, soloAllReduce } from '../src/train/trainer.js';
import { forwardMultiplyAdds, kernelTimes, type Model } from './train.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Waits until the device has run everything queued before: reads one element back. */
async function settle(t: tf.Tensor): Promise<void> {
  const one = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1));
  await one.data();
  one.dispose();
}

async function timeMs(f: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await f();
  return performance.now() - start;
}

/** Milliseconds of a 1024^3 product without transposes, read back to be sure it ran. */
async function peakProductMs(reps: number): Promise<number> {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const once = async () => {
    const c = tf.matMul(a, b);
    await settle(c);
    c.dispose();
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await timeMs(once));
  tf.dispose([a, b]);
  return median(times);
}

export async function deviceTrainBench(model: Model, backendName: string, batch: number, emit: Emit): Promise<void> {
  const backend = await selectBackend(backendName);
  const spec = JobSpec.fromJSON({
    name: model.name,
    model: { layers: model.layers, loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.01 } } },
    dataset: { name: 'random' },
    training: { epochs: 1, globalBatchSize: batch, seed: 1 },
    workers: { min: 1, max: 1 },
  });
  const featureSize = model.inputShape.reduce((a, b) => a * b, 1);
  const shape: DatasetShape = { inputShape: model.inputShape, featureSize, target: { kind: 'classes', classes: 10 }, targetSize: 10 };
  const x = Float32Array.from({ length: batch * featureSize }, () => Math.random());
  const y = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) y[i * 10 + (i % 10)] = 1;
  const samples = Uint32Array.from({ length: batch }, (_, i) => i);
  const input = { x, y, count: batch, epoch: 0, samples };

  for (const kernels of ['syncline', 'backend'] as const) {
    if (kernels === 'backend' && restoreBackendKernels(backend.name).length === 0) break;
    try {
      resetDeclinedCalls();
      const figures = await measure();
      const ours = kernels === 'syncline' ? { ours: oursRegistered(backend.name), declined: declinedCalls() } : {};
      emit({ kernels, ...ours, ...figures });
    } finally {
      registerTrainingKernels(backend.name);
    }
  }

  async function measure(): Promise<Record<string, unknown>> {
    const trainer = new Trainer(spec, shape);
    const allReduce = soloAllReduce(trainer);
    const first = trainer.variables[0]!;
    try {
      const stepFlops = 3 * 2 * forwardMultiplyAdds(trainer.model) * batch;
      const step = async () => {
        await trainer.step(input, 1, allReduce);
        await settle(first);
      };
      // Warm-up: the first steps compile every kernel's shader.
      await step();
      await step();
      const reps = backend.adapter?.software ? 3 : 10;
      const steps: number[] = [];
      const gradients: number[] = [];
      const applies: number[] = [];
      for (let i = 0; i < reps; i++) {
        steps.push(await timeMs(step));
        const buffer = allReduce.buffer(0);
        gradients.push(await timeMs(() => trainer.localGradients(input, buffer)));
        applies.push(
          await timeMs(async () => {
            trainer.applySummed(buffer);
            await settle(first);
          }),
        );
      }
      const fusion = tf.randomNormal([trainer.gradientLength]);
      const reads: number[] = [];
      for (let i = 0; i < 3; i++) {
        const copy = tf.mul(fusion, 1);
        await settle(copy);
        reads.push(await timeMs(() => copy.data()));
        copy.dispose();
      }
      fusion.dispose();
      const readbackMs = median(reads);
      const stepMs = median(steps);
      const peakMs = await peakProductMs(reps);
      const flopsPerSecond = stepFlops / (stepMs / 1000);
      const matmulFlopsPerSecond = (2 * 1024 ** 3) / (peakMs / 1000);
      const profile = await kernelTimes(step);
      return {
        backend: backend.name,
        ...(backend.adapter ? { adapter: `${backend.adapter.vendor} ${backend.adapter.architecture}`.trim(), software: backend.adapter.software } : { how: backend.reason }),
        batch,
        samplesPerSecond: Number((batch / (stepMs / 1000)).toPrecision(4)),
        stepMs: Number(stepMs.toFixed(1)),
        phasesMs: { gradients: Number(median(gradients).toFixed(1)), readback: Number(readbackMs.toFixed(2)), apply: Number(median(applies).toFixed(1)) },
        fusionBufferBytes: trainer.gradientLength * 4,
        stepFlops,
        flopsPerSecond: Math.round(flopsPerSecond),
        matmulFlopsPerSecond: Math.round(matmulFlopsPerSecond),
        roofline: Number((flopsPerSecond / matmulFlopsPerSecond).toFixed(3)),
        ...profile,
      };
    } finally {
      trainer.dispose();
    }
  }
}

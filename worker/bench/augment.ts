// What data augmentation costs per step. One worker trains a small CNN on real mnist digits
// (batch 256) through the training loop's batch source, three ways in alternation: without
// augmentation, augmenting on the training thread, and augmenting the next batch in the
// augmentation thread while the current step computes (what workers do). Figures are median
// milliseconds per step and ratios to the plain step taken in the same run:
//   augmentMs      augmenting one batch on the training thread (every transformation on)
//   inlineRatio    step time augmenting inline / plain step time
//   threadedRatio  step time with the augmentation thread / plain step time (1 means free)
// On a machine whose cores the training step already keeps busy, the thread competes with it.
import { validateJobSpec } from '@syncline/coordinator';
import { JobSpec, type Augmentation } from '@syncline/proto';
import type { Bench } from '../../bench/registry.js';
import { augmentBatch } from '../src/augment/augment.js';
import { Augmenter } from '../src/augment/augmenter.js';
import { selectBackend } from '../src/backend.js';
import { gatherRows } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { memorySource } from '../src/data/sample-source.js';
import { BatchSource } from '../src/train/batch-source.js';
import { Trainer, soloAllReduce } from '../src/train/trainer.js';

const BATCH = 256;
const STEPS = 6;
const ROUNDS = 3;
const AUGMENT = { imageShape: [28, 28, 1], horizontalFlip: false, verticalFlip: false, rotation: 15, zoom: 0.1, widthShift: 0.1, heightShift: 0.1, brightness: 0.1, contrast: 0.2, noiseStddev: 0.05, cutoutSize: 8 } satisfies Augmentation;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export const augmentBench: Bench = {
  name: 'augment',
  description: `one worker on its best backend, CNN (conv16-pool-conv32-pool-dense10) on mnist, batch ${BATCH}: ms per step without augmentation, augmenting inline, and with the augmentation thread`,
  async run(emit) {
    const backend = await selectBackend();
    const data = loadMnist();
    const spec = validateJobSpec(JobSpec.fromJSON({
      name: 'bench-augment',
      model: {
        layers: [
          { reshape: { targetShape: [28, 28, 1] } },
          { conv2d: { filters: 16, kernelSize: [3, 3], activation: 'relu' } },
          { maxPooling2d: { poolSize: [2, 2] } },
          { conv2d: { filters: 32, kernelSize: [3, 3], activation: 'relu' } },
          { maxPooling2d: { poolSize: [2, 2] } },
          { flatten: {} },
          { dense: { units: 10, activation: 'softmax' } },
        ],
        loss: 'categoricalCrossentropy',
        optimizer: { sgd: { learningRate: 0.01 } },
      },
      dataset: { name: 'mnist' },
      training: { epochs: 1, globalBatchSize: BATCH, seed: 1 },
      workers: { min: 1, max: 1 },
    }));
    const trainer = new Trainer(spec, data);
    const allReduce = soloAllReduce(trainer);
    const shape = { height: 28, width: 28, channels: 1 };
    const plan = { seed: 1, batchSize: BATCH, rank: 0, steps: 10_000 };
    const threaded = new Augmenter({ spec: AUGMENT, shape, seed: 1 });
    const inline = new Augmenter({ spec: AUGMENT, shape, seed: 1 }, { inline: true });
    const modes = { plain: undefined, inline, threaded } as const;
    const perStep: Record<keyof typeof modes, number[]> = { plain: [], inline: [], threaded: [] };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const [mode, augmenter] of Object.entries(modes) as [keyof typeof modes, Augmenter | undefined][]) {
          const source = new BatchSource(memorySource(data.train, data), plan, augmenter);
          const first = round * 100;
          await trainer.step(await source.batch(first, [1]), 1, allReduce);
          const start = performance.now();
          for (let s = 1; s <= STEPS; s++) await trainer.step(await source.batch(first + s, [1]), 1, allReduce);
          perStep[mode].push((performance.now() - start) / STEPS);
        }
      }
      const rows = gatherRows(data.train, data, Uint32Array.from({ length: BATCH }, (_, i) => i));
      const augmentTimes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const x = rows.x.slice();
        const start = performance.now();
        augmentBatch(x, Uint32Array.from({ length: BATCH }, (_, k) => k), AUGMENT, shape, 1, i);
        augmentTimes.push(performance.now() - start);
      }
      const plain = median(perStep.plain);
      emit({
        backend: backend.name,
        batch: BATCH,
        augment: 'rotation 15, zoom 0.1, shifts 0.1, brightness 0.1, contrast 0.2, noise 0.05, cutout 8',
        plainStepMs: Number(plain.toFixed(1)),
        augmentMs: Number(median(augmentTimes).toFixed(1)),
        inlineStepMs: Number(median(perStep.inline).toFixed(1)),
        threadedStepMs: Number(median(perStep.threaded).toFixed(1)),
        inlineRatio: Number((median(perStep.inline) / plain).toFixed(3)),
        threadedRatio: Number((median(perStep.threaded) / plain).toFixed(3)),
      });
    } finally {
      await threaded.close();
      trainer.dispose();
    }
  },
};

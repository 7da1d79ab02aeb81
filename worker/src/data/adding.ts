// The adding problem (Hochreiter & Schmidhuber 1997): each step carries a random value in
// [0, 1) and a marker; exactly two steps are marked, one in each half of the sequence, and the
// target is the sum of the two marked values. A model must remember the first marked value
// across many steps. Predicting the mean (1.0) always gives a mean squared error of 1/6.
import { ADDING_STEPS, BUILTIN_DATASETS, seededRandom } from '@syncline/proto';
import { generateSplit, type InMemoryDataset, type Split } from './dataset.js';

const SEED = 0xadd1;
let cached: InMemoryDataset | undefined;

function addingSplit(count: number, random: () => number): Split {
  const half = ADDING_STEPS / 2;
  return generateSplit(count, ADDING_STEPS * 2, 1, (x, y) => {
    const first = Math.floor(random() * half);
    const second = half + Math.floor(random() * half);
    let sum = 0;
    for (let t = 0; t < ADDING_STEPS; t++) {
      const value = random();
      const marked = t === first || t === second;
      x[t * 2] = value;
      x[t * 2 + 1] = marked ? 1 : 0;
      if (marked) sum += value;
    }
    y[0] = sum;
  });
}

export function loadAdding(): InMemoryDataset {
  if (cached) return cached;
  const info = BUILTIN_DATASETS.adding!;
  const random = seededRandom(SEED);
  cached = {
    name: 'adding',
    inputShape: info.inputShape,
    featureSize: ADDING_STEPS * 2,
    target: info.target,
    targetSize: 1,
    train: addingSplit(info.train, random),
    heldout: addingSplit(info.heldout, random),
  };
  return cached;
}

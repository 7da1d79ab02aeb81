// Built-in datasets by name; one registration list. Each must match its entry in
// BUILTIN_DATASETS (proto/src/datasets.ts), which the coordinator validates against.
import { BUILTIN_DATASETS } from '@syncline/proto';
import { loadAdding } from './adding.js';
import type { InMemoryDataset, Split } from './dataset.js';
import { loadKeywords } from './keywords.js';
import { loadMnist } from './mnist.js';

const builtins: Record<string, () => InMemoryDataset> = {
  mnist: loadMnist,
  adding: loadAdding,
  keywords: loadKeywords,
};

export function isBuiltinDataset(name: string): boolean {
  return Object.hasOwn(builtins, name);
}

function classCounts(split: Split, targetSize: number): number[] {
  const counts = new Array<number>(targetSize).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.y.subarray(i * targetSize, (i + 1) * targetSize).indexOf(1)]! += 1;
  return counts;
}

export function loadDataset(name: string): InMemoryDataset {
  const load = Object.hasOwn(builtins, name) ? builtins[name] : undefined;
  if (!load) throw new Error(`unknown dataset ${JSON.stringify(name)}; built-in: ${Object.keys(builtins).join(', ')}`);
  const dataset = load();
  const info = BUILTIN_DATASETS[name];
  if (!info || info.train !== dataset.train.count || info.heldout !== dataset.heldout.count || info.inputShape.join() !== dataset.inputShape.join()) {
    throw new Error(`dataset ${name} does not match its catalogue entry`);
  }
  if (info.classCounts && (classCounts(dataset.train, dataset.targetSize).join() !== info.classCounts.train.join() || classCounts(dataset.heldout, dataset.targetSize).join() !== info.classCounts.heldout.join())) {
    throw new Error(`dataset ${name}: its class counts do not match its catalogue entry`);
  }
  return dataset;
}

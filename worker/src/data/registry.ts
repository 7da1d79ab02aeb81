// Built-in datasets by name; one registration list. Each must match its entry in
// BUILTIN_DATASETS (proto/src/datasets.ts), which the coordinator validates against.
import { BUILTIN_DATASETS } from '@syncline/proto';
import { loadAdding } from './adding.js';
import type { InMemoryDataset } from './dataset.js';
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

export function loadDataset(name: string): InMemoryDataset {
  const load = Object.hasOwn(builtins, name) ? builtins[name] : undefined;
  if (!load) throw new Error(`unknown dataset ${JSON.stringify(name)}; built-in: ${Object.keys(builtins).join(', ')}`);
  const dataset = load();
  const info = BUILTIN_DATASETS[name];
  if (!info || info.train !== dataset.train.count || info.heldout !== dataset.heldout.count || info.inputShape.join() !== dataset.inputShape.join()) {
    throw new Error(`dataset ${name} does not match its catalogue entry`);
  }
  return dataset;
}

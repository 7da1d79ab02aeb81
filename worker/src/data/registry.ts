// Built-in datasets by name; one registration list.
import type { Dataset } from './dataset.js';
import { loadMnist } from './mnist.js';

const builtins: Record<string, () => Dataset> = {
  mnist: loadMnist,
};

export function loadDataset(name: string): Dataset {
  const load = builtins[name];
  if (!load) throw new Error(`unknown dataset ${JSON.stringify(name)}; built-in: ${Object.keys(builtins).join(', ')}`);
  return load();
}

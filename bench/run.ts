// `npm run bench [-- name ...] [--backend webgpu] [--batch 1024]`: runs the benchmarks (all, or
// those named) and prints one JSON object per line, `{"bench": "<name>", ...figures}`. Speed is
// always reported as ratios taken in the same run, never compared with constants. --backend and
// --batch reach the benchmarks that take them (train-mlp, train-cnn).
import { parseArgs } from 'node:util';
import { benches, type BenchOptions } from './registry.js';

const { values, positionals } = parseArgs({ options: { backend: { type: 'string' }, batch: { type: 'string' } }, allowPositionals: true });
const options: BenchOptions = {
  ...(values.backend ? { backend: values.backend } : {}),
  ...(values.batch ? { batch: Number(values.batch) } : {}),
};
if (options.batch !== undefined && !(Number.isInteger(options.batch) && options.batch > 0)) {
  console.error(`--batch must be a positive integer, not ${values.batch}`);
  process.exit(2);
}
const wanted = positionals;
const unknown = wanted.filter((w) => !benches.some((b) => b.name === w));
if (unknown.length) {
  console.error(`unknown bench ${unknown.join(', ')}; available: ${benches.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
for (const bench of benches) {
  if (wanted.length && !wanted.includes(bench.name)) continue;
  console.error(`bench ${bench.name}: ${bench.description}`);
  await bench.run((figures) => console.log(JSON.stringify({ bench: bench.name, ...figures })), options);
}

// `npm run bench [-- name ...]`: runs the benchmarks (all, or those named) and prints one JSON
// object per line, `{"bench": "<name>", ...figures}`. Speed is always reported as ratios taken
// in the same run, never compared with constants.
import { benches } from './registry.js';

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !benches.some((b) => b.name === w));
if (unknown.length) {
  console.error(`unknown bench ${unknown.join(', ')}; available: ${benches.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
for (const bench of benches) {
  if (wanted.length && !wanted.includes(bench.name)) continue;
  console.error(`bench ${bench.name}: ${bench.description}`);
  await bench.run((figures) => console.log(JSON.stringify({ bench: bench.name, ...figures })));
}

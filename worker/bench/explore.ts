import { runAllReduceBench } from './allreduce.js';
const [sizes, workers, configs, chunk] = process.argv.slice(2);
await runAllReduceBench((f) => console.log(JSON.stringify(f)), {
  sizes: sizes!.split(',').map((m) => Number(m) * 1024 * 1024),
  workers: workers!.split(',').map(Number),
  configs: configs!.split(',').map((c) => { const [algorithm, compression] = c.split('/'); return { algorithm: algorithm as any, compression: (compression ?? 'none') as any, chunkBytes: Number(chunk) * 1024 * 1024 }; }),
  rawChunkBytes: [1 << 20, 8 << 20],
});

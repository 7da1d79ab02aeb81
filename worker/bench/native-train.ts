// The Syncline side of `npm run bench -- vs-pytorch`, run as its own process so that it gets
// the same environment and cores as the PyTorch process it is compared with:
//   node --import tsx worker/bench/native-train.ts <mlp|cnn|lstm|dcgan> <threads> <seconds>
// One worker's training step (Trainer.step: forward, backward, the fusion buffer out and back
// as if all-reduced over one rank, optimizer update; for dcgan GanTrainer.step: the
// discriminator's step on real and generated digits, then the generator's) on the native
// backend; prints one JSON line with the median step, as train.py does.
import { selectBackend } from '../src/backend.js';
import { GanTrainer } from '../src/train/gan-trainer.js';
import { Trainer, soloAllReduce, type Replica } from '../src/train/trainer.js';
import { BATCH, BENCH_MODELS, DCGAN_SHAPE, benchBatch, benchShape, benchSpec, dcganBenchSpec } from './models.js';

const [name, threadsArg, secondsArg] = process.argv.slice(2);
const model = name === 'dcgan' ? BENCH_MODELS.mlp : BENCH_MODELS[name as keyof typeof BENCH_MODELS];
if (!model) throw new Error(`unknown model ${name}; expected dcgan or one of ${Object.keys(BENCH_MODELS).join(', ')}`);
const backend = await selectBackend(process.env.SYNCLINE_BACKEND ?? 'native', { threads: threadsArg });
// The DCGAN's real samples are MLP-shaped batches: 784 values in [0, 1) and a class each.
const trainer: Replica = name === 'dcgan' ? new GanTrainer(dcganBenchSpec(), DCGAN_SHAPE) : new Trainer(benchSpec(name!, model), benchShape(model));
const { x, y } = benchBatch(model);
const samples = Uint32Array.from({ length: BATCH }, (_, i) => i);
const step = () => trainer.step({ x, y, count: BATCH, epoch: 0, samples }, 1, soloAllReduce(trainer));
for (let i = 0; i < 3; i++) await step();
const times: number[] = [];
const cpu: number[] = [];
const start = performance.now();
while (performance.now() - start < Number(secondsArg ?? 3) * 1000 || times.length < 5) {
  const c = process.cpuUsage();
  const t = performance.now();
  await step();
  times.push(performance.now() - t);
  const used = process.cpuUsage(c);
  cpu.push((used.user + used.system) / 1000);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stepMs = median(times);
console.log(JSON.stringify({ framework: 'syncline', backend: backend.name, how: backend.reason, model: name, threads: Number(threadsArg), steps: times.length, stepMs: Number(stepMs.toFixed(3)), stepCpuMs: Number(median(cpu).toFixed(3)), samplesPerSecond: Math.round(BATCH / (stepMs / 1000)) }));
trainer.dispose();

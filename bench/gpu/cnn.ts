// The GPU benchmark's entry (bench/gpu/run.sh runs it, bundled with Node, Dawn and the Vulkan
// loader): one worker trains the Keras CNN on webgpu at each batch size and prints one JSON line
// per batch, then the figure against the reference measured once on an H100 (Dawn over Vulkan,
// TF.js 4.22's webgpu backend, no Syncline kernels): 1,741 samples/s at batch 1024.
import { parseArgs } from 'node:util';
import { CNN } from '../../worker/bench/train.js';
import { deviceTrainBench } from '../../worker/bench/train-device.js';
import { releaseWebGPU } from '../../worker/src/backends/webgpu/backend.js';

const REFERENCE = { samplesPerSecond: 1741, what: 'H100, TF.js 4.22 webgpu backend on Dawn + Vulkan, batch 1024 (2026-11-27)' };

const { values } = parseArgs({ options: { batches: { type: 'string', default: '256,1024' }, 'allow-software': { type: 'boolean', default: false } } });
const batches = values.batches.split(',').map(Number);
if (batches.some((b) => !(Number.isInteger(b) && b > 0))) throw new Error(`--batches takes positive integers, comma-separated: ${values.batches}`);

const results: { batch: number; kernels: string; samplesPerSecond: number; ours: string[]; declined: Record<string, number> }[] = [];
for (const batch of batches) {
  await deviceTrainBench(CNN, 'webgpu', batch, (figures) => {
    console.log(JSON.stringify({ bench: 'gpu-cnn', ...figures }));
    if (figures.software === true && !values['allow-software']) {
      console.error('bench/gpu: the adapter is a software one (SwiftShader): this is not a GPU figure. Pass --allow-software to run anyway.');
      process.exit(3);
    }
    results.push({
      batch,
      kernels: String(figures.kernels),
      samplesPerSecond: figures.samplesPerSecond as number,
      ours: (figures.ours as string[] | undefined) ?? [],
      declined: (figures.declined as Record<string, number> | undefined) ?? {},
    });
  });
}
for (const { batch, kernels, samplesPerSecond, ours, declined } of results) {
  const which = kernels === 'syncline' ? `Syncline's kernels (ours: ${ours.join(', ')}; handed to TF.js's: ${Object.keys(declined).length ? JSON.stringify(declined) : 'none'})` : "TF.js's own kernels";
  console.log(`Keras CNN on webgpu, batch ${batch}, ${which}: ${samplesPerSecond} samples/s = ${(samplesPerSecond / REFERENCE.samplesPerSecond).toFixed(2)}x the reference ${REFERENCE.samplesPerSecond} samples/s (${REFERENCE.what}); goal >= 10x`);
}
for (const batch of batches) {
  const [ours, theirs] = ['syncline', 'backend'].map((k) => results.find((r) => r.batch === batch && r.kernels === k));
  if (ours && theirs) console.log(`batch ${batch}: Syncline's kernels at ${(ours.samplesPerSecond / theirs.samplesPerSecond).toFixed(2)}x TF.js's own`);
}
releaseWebGPU();

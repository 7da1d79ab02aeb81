// `npm run results [-- name ...]`: trains the examples on a local cluster (2 workers) and
// writes what they reached to docs/results/: one JSON per example, a training-curve SVG,
// and for the GAN a grid of generated digits (PNG) with a quality figure from mnist-cnn.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JobState, type Job, type StepMetrics } from '@syncline/proto';
import { loadModel, type SynclineModel } from '@syncline/sdk';
import { loadDataset } from '@syncline/worker/datasets';
import { SynclineClient, stateName } from './client.js';
import { readJobFile } from './job-file.js';
import { startLocalCluster } from './local-cluster.js';
import { imageGridPng, lineChartSvg } from './plots.js';
import { watchWithProgress } from './progress.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'docs', 'results');
const ORDER = ['mnist-mlp', 'mnist-cnn', 'sequence-lstm', 'sequence-rnn', 'keywords-gru', 'mnist-gan'];
const wanted = process.argv.slice(2);
const names = wanted.length ? ORDER.filter((n) => wanted.includes(n)) : ORDER;

/** What always predicting the same thing scores on the held-out split. */
function trivialBaseline(datasetName: string): Record<string, number> {
  const d = loadDataset(datasetName);
  if (d.target.kind === 'regression') {
    let mean = 0;
    for (let i = 0; i < d.train.count; i++) mean += d.train.y[i]!;
    mean /= d.train.count;
    let mse = 0;
    let mae = 0;
    for (let i = 0; i < d.heldout.count; i++) {
      const e = d.heldout.y[i]! - mean;
      mse += e * e;
      mae += Math.abs(e);
    }
    return { constantPrediction: mean, mse: mse / d.heldout.count, mae: mae / d.heldout.count };
  }
  const counts = new Array<number>(d.targetSize).fill(0);
  for (let i = 0; i < d.heldout.count; i++) counts[d.heldout.y.subarray(i * d.targetSize, (i + 1) * d.targetSize).indexOf(1)]! += 1;
  return { majorityClassAccuracy: Math.max(...counts) / d.heldout.count };
}

function curve(name: string, metrics: StepMetrics[], gan: boolean): string {
  const every = Math.max(1, Math.floor(metrics.length / 400));
  const pts = (f: (m: StepMetrics) => number) => metrics.filter((_, i) => i % every === 0).map((m) => [m.step, f(m)] as [number, number]);
  const series = gan
    ? [
        { label: 'discriminator loss', color: '#d62728', points: pts((m) => m.loss) },
        { label: 'generator loss', color: '#1f77b4', points: pts((m) => m.generatorLoss) },
      ]
    : [{ label: 'training loss (global batch)', color: '#1f77b4', points: pts((m) => m.loss) }];
  return lineChartSvg(`${name}: loss by step (2 workers)`, 'step', 'loss', series, { logY: !gan });
}

async function ganFigures(model: SynclineModel, classifier: SynclineModel | undefined) {
  const n = 100;
  const samples = model.generate(n, { seed: 12345 });
  const images = Array.from({ length: n }, (_, i) => samples.subarray(i * 784, (i + 1) * 784));
  await writeFile(join(out, 'mnist-gan-samples.png'), imageGridPng(images, 28, 10, 2));
  if (!classifier) return { samples: n };
  const probs = classifier.predict(samples);
  let confident = 0;
  const classes = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    const row = probs.subarray(i * 10, (i + 1) * 10);
    const best = row.indexOf(Math.max(...row));
    classes[best]! += 1;
    if (row[best]! >= 0.9) confident++;
  }
  return { samples: n, confidentShare: confident / n, classifier: `${classifier.name} v${classifier.version}`, predictedClassCounts: classes };
}

await mkdir(out, { recursive: true });
const cluster = await startLocalCluster({ workers: 2, log: (l) => console.error(`  ${l}`) });
const client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
const summary: Record<string, unknown>[] = [];
try {
  for (const name of names) {
    const spec = await readJobFile(join(root, 'examples', `${name}.json`));
    const metrics: StepMetrics[] = [];
    const submitted = await client.submit(spec);
    console.error(`results: ${name} submitted as ${submitted.id}`);
    const stop = client.watch(submitted.id, { metrics: (m) => metrics.push(m) });
    const job: Job = await watchWithProgress(client, submitted.id);
    await stop;
    if (job.state !== JobState.JOB_STATE_SUCCEEDED || !job.model) throw new Error(`${name} ended ${stateName(job.state)}: ${job.error}`);
    await writeFile(join(out, `${name}-loss.svg`), curve(name, metrics, Boolean(spec.gan)));
    const record: Record<string, unknown> = {
      name,
      jobId: job.id,
      workers: 2,
      steps: job.result?.steps,
      seconds: Number(job.result?.seconds.toFixed(1)),
      samplesPerSecond: Math.round(metrics.slice(1).reduce((a, m) => a + m.samplesPerSecond, 0) / Math.max(1, metrics.length - 1)),
      heldout: { loss: job.result?.loss, accuracy: job.result?.accuracy, mae: job.result?.mae, generatorLoss: job.result?.generatorLoss },
      trivialBaseline: trivialBaseline(spec.dataset!.name),
      model: job.model.url,
    };
    if (spec.gan) {
      const generator = await loadModel(job.model.url);
      let classifier: SynclineModel | undefined;
      try {
        classifier = await loadModel({ baseUrl: cluster.coordinator.httpUrl, name: 'mnist-cnn' });
      } catch {
        classifier = undefined;
      }
      record.generated = await ganFigures(generator, classifier);
      generator.dispose();
      classifier?.dispose();
    }
    console.error(`results: ${JSON.stringify(record)}`);
    await writeFile(join(out, `${name}.json`), JSON.stringify(record, null, 2) + '\n');
    summary.push(record);
  }
} finally {
  client.close();
  await cluster.stop();
}
const previous = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8').catch(() => '{}')) as Record<string, unknown>;
for (const r of summary) previous[r.name as string] = r;
await writeFile(join(out, 'summary.json'), JSON.stringify(previous, null, 2) + '\n');

// `npm run results [-- name ...]`: trains the examples on a local cluster (2 workers) and
// writes what they reached to docs/results/: one JSON per example, a training-curve SVG,
// and for each GAN a grid of generated digits (PNG) with quality figures from mnist-cnn
// (cli/src/gan-quality.ts) when mnist-cnn is trained in the same run.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JobState, type Job, type StepMetrics } from '@syncline/proto';
import { loadModel, type SynclineModel } from '@syncline/sdk';
import { loadDataset } from '@syncline/worker/datasets';
import { SynclineClient, stateName } from './client.js';
import { readJobFile } from './job-file.js';
import { startLocalCluster } from './local-cluster.js';
import { askedClasses, classBalance, fitGaussian, frechetDistance } from './gan-quality.js';
import { imageGridPng, lineChartSvg } from './plots.js';
import { watchWithProgress } from './progress.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'docs', 'results');
// mnist-transfer-5-9 starts from the latest mnist-base-0-4, so the base comes first.
const ORDER = ['mnist-mlp', 'mnist-cnn', 'mnist-base-0-4', 'mnist-transfer-5-9', 'mnist-scratch-5-9', 'mnist-small-1000', 'mnist-small-1000-augmented', 'sequence-lstm', 'sequence-rnn', 'keywords-gru', 'mnist-dcgan', 'mnist-acgan', 'mnist-gan'];
/** Pairs of examples that differ in one thing, and what their held-out accuracies show. */
const COMPARISONS = [
  { name: 'transfer-learning', what: 'digits 5-9 from 500 training samples: conv layers of mnist-base-0-4 (trained on digits 0-4) frozen and a new head, against the same network from scratch', with: 'mnist-transfer-5-9', without: 'mnist-scratch-5-9' },
  { name: 'augmentation', what: '1,000 training digits with and without augmentation (rotation 12, zoom 0.1, shifts 0.1)', with: 'mnist-small-1000-augmented', without: 'mnist-small-1000' },
];
const wanted = process.argv.slice(2);
const names = wanted.length ? ORDER.filter((n) => wanted.includes(n)) : ORDER;

/** What always predicting the same thing scores on the held-out split (of the job's classes). */
function trivialBaseline(datasetName: string, classes: number[]): Record<string, number> {
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
  const kept = classes.length ? counts.filter((_, c) => classes.includes(c)) : counts;
  return { majorityClassAccuracy: Math.max(...kept) / kept.reduce((a, b) => a + b, 0) };
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

/**
 * CPU seconds the worker processes have used so far (Linux: utime + stime of /proc/<pid>/stat, in
 * the kernel's 100 Hz ticks), or undefined where that cannot be read. Unlike wall time, it does
 * not grow when other work shares the machine.
 */
async function workerCpuSeconds(pids: (number | undefined)[]): Promise<number | undefined> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    // Fields after the command name (which may hold spaces), which ends at the last ')'.
    const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pid === undefined || !fields) return undefined;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

/** Generated samples scored by the classifier: more than the grid shows, so the class counts mean something. */
const SCORED = 1000;
const SEED = 12345;

async function ganFigures(name: string, model: SynclineModel, classifier: SynclineModel | undefined) {
  // The grid is the first 100 of the scored samples (the same seed draws the same latent vectors
  // first). A conditional generator is asked for each class in turn (the grid's columns are the
  // ten digits), so its class balance holds by construction: what it shows is how often the
  // classifier recognizes the asked class.
  const conditional = model.conditionClasses > 0;
  const asked = Array.from({ length: SCORED }, (_, i) => i % Math.max(1, model.conditionClasses));
  const samples = model.generate(SCORED, { seed: SEED, ...(conditional && { classes: asked }) });
  const size = model.outputSize;
  const images = Array.from({ length: 100 }, (_, i) => samples.subarray(i * size, (i + 1) * size));
  await writeFile(join(out, `${name}-samples.png`), imageGridPng(images, 28, 10, 2));
  if (!classifier) return { samples: SCORED };
  const probabilities = classifier.predictBatch(samples, SCORED);
  const balance = classBalance(probabilities, SCORED, classifier.outputSize);
  // Fréchet distance of the classifier's penultimate features: generated vs real held-out
  // digits, and, as the floor a perfect generator would reach, real training vs held-out digits.
  const mnist = loadDataset('mnist');
  const fit = (x: Float32Array, count: number) => {
    const features = classifier.features(x.subarray(0, count * size));
    return fitGaussian(features, count, features.length / count);
  };
  const real = fit(mnist.heldout.x, mnist.heldout.count);
  // The same share for real held-out digits: what the classifier grants real data, the ceiling
  // a generator's confident share is read against.
  const realBalance = classBalance(classifier.predictBatch(mnist.heldout.x.subarray(0, SCORED * size), SCORED), SCORED, classifier.outputSize);
  return {
    samples: SCORED,
    seed: SEED,
    classifier: `${classifier.name} v${classifier.version}`,
    confidentShare: balance.confidentShare,
    ...(conditional && { askedClasses: 'each class in turn', ...askedClasses(probabilities, SCORED, classifier.outputSize, asked) }),
    realConfidentShare: realBalance.confidentShare,
    predictedClassCounts: balance.predictedClassCounts,
    maxMinClassRatio: Number.isFinite(balance.maxMinRatio) ? Number(balance.maxMinRatio.toFixed(2)) : null,
    frechetDistance: Number(frechetDistance(fit(samples, SCORED), real).toFixed(3)),
    realFrechetDistance: Number(frechetDistance(fit(mnist.train.x, SCORED), real).toFixed(3)),
    heldoutSamples: mnist.heldout.count,
  };
}

/**
 * What mnist-cnn learned, as pictures: for each digit a held-out example, its saliency map, and
 * the input that maximizes the digit's logit (activation maximization), in one grid of 3 rows.
 */
async function cnnFigures(model: SynclineModel) {
  const heldout = loadDataset('mnist').heldout;
  const examples: Float32Array[] = [];
  const saliency: Float32Array[] = [];
  const maximized: Float32Array[] = [];
  const activations: { digit: number; start: number; end: number; probability: number }[] = [];
  for (let digit = 0; digit < 10; digit++) {
    let row = 0;
    while (heldout.y[row * 10 + digit] !== 1) row++;
    const x = heldout.x.slice(row * 784, (row + 1) * 784);
    examples.push(x);
    const heat = model.saliency(x, digit);
    const peak = Math.max(...heat);
    saliency.push(heat.map((v) => v / peak));
    const result = model.maximizeActivation(digit, { steps: 300, seed: digit });
    maximized.push(result.input);
    activations.push({ digit, start: Number(result.startActivation.toFixed(2)), end: Number(result.activation.toFixed(2)), probability: Number(model.predict(result.input)[digit]!.toFixed(3)) });
  }
  await writeFile(join(out, 'mnist-cnn-what-it-learned.png'), imageGridPng([...examples, ...saliency, ...maximized], 28, 10, 3));
  return { picture: 'mnist-cnn-what-it-learned.png', rows: ['a held-out example of each digit', 'its saliency |d p(digit) / d pixel|, scaled to its peak', 'activation maximization of the digit logit (300 steps, L2 0.002, jitter 1, blur every 4)'], activations };
}

await mkdir(out, { recursive: true });
const cluster = await startLocalCluster({ workers: 2, log: (l) => console.error(`  ${l}`) });
const client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
const summary: Record<string, unknown>[] = [];
try {
  for (const name of names) {
    const spec = await readJobFile(join(root, 'examples', `${name}.json`));
    const metrics: StepMetrics[] = [];
    const pids = cluster.workers.map((w) => w.pid);
    const cpuBefore = await workerCpuSeconds(pids);
    const submitted = await client.submit(spec);
    console.error(`results: ${name} submitted as ${submitted.id}`);
    const stop = client.watch(submitted.id, { metrics: (m) => metrics.push(m) });
    const job: Job = await watchWithProgress(client, submitted.id);
    await stop;
    const cpuAfter = await workerCpuSeconds(pids);
    if (job.state !== JobState.JOB_STATE_SUCCEEDED || !job.model) throw new Error(`${name} ended ${stateName(job.state)}: ${job.error}`);
    await writeFile(join(out, `${name}-loss.svg`), curve(name, metrics, Boolean(spec.gan)));
    const record: Record<string, unknown> = {
      name,
      jobId: job.id,
      workers: 2,
      steps: job.result?.steps,
      seconds: Number(job.result?.seconds.toFixed(1)),
      ...(cpuBefore !== undefined && cpuAfter !== undefined ? { workerCpuSeconds: Math.round(cpuAfter - cpuBefore) } : {}),
      samplesPerSecond: Math.round(metrics.slice(1).reduce((a, m) => a + m.samplesPerSecond, 0) / Math.max(1, metrics.length - 1)),
      heldout: { loss: job.result?.loss, accuracy: job.result?.accuracy, mae: job.result?.mae, generatorLoss: job.result?.generatorLoss },
      trivialBaseline: trivialBaseline(spec.dataset!.name, spec.dataset!.classes),
      ...(spec.dataset!.classes.length ? { classes: spec.dataset!.classes } : {}),
      ...(spec.dataset!.trainLimit ? { trainingSamples: spec.dataset!.trainLimit } : {}),
      ...(spec.model?.base ? { base: spec.model.base } : {}),
      ...(spec.dataset!.augment ? { augment: spec.dataset!.augment } : {}),
      model: job.model.url,
    };
    if (name === 'mnist-cnn') {
      const model = await loadModel(job.model.url);
      record.whatItLearned = await cnnFigures(model);
      model.dispose();
    }
    if (spec.gan) {
      const generator = await loadModel(job.model.url);
      let classifier: SynclineModel | undefined;
      try {
        classifier = await loadModel({ baseUrl: cluster.coordinator.httpUrl, name: 'mnist-cnn' });
      } catch {
        classifier = undefined;
      }
      record.generated = await ganFigures(name, generator, classifier);
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

type Recorded = { heldout?: { accuracy?: number }; jobId?: string };
const comparisons: Record<string, unknown> = JSON.parse(await readFile(join(out, 'comparisons.json'), 'utf8').catch(() => '{}')) as Record<string, unknown>;
for (const c of COMPARISONS) {
  const a = (previous[c.with] as Recorded | undefined)?.heldout?.accuracy;
  const b = (previous[c.without] as Recorded | undefined)?.heldout?.accuracy;
  if (a === undefined || b === undefined) continue;
  comparisons[c.name] = { what: c.what, [c.with]: a, [c.without]: b, differencePoints: Number((100 * (a - b)).toFixed(1)) };
}
await writeFile(join(out, 'comparisons.json'), JSON.stringify(comparisons, null, 2) + '\n');

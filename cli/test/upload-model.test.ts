// `syncline upload-model`: a TF.js layers model written as tensorflowjs_converter writes it (no
// digests) is registered, served with digests the SDK checks, and named as a base in a job that
// the coordinator checks against it; a broken upload is refused and registers nothing. A model
// with batch normalization is a base too: a job that freezes it trains on a worker, and the
// published model keeps the frozen layers as uploaded.
import anyTest, { type TestFn } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { JobSpec, JobState } from '@syncline/proto';
import { loadModel } from '@syncline/sdk';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';
import { runCli, writeDefaultConfig } from './helpers/processes.js';

const test = anyTest as TestFn<{ cluster: LocalCluster; dir: string; model: tf.Sequential }>;

/** Writes `model` into `dir` as model.json plus one weight file, the converter's layout. */
async function writeTfjsModel(model: tf.LayersModel, dir: string, truncate = false): Promise<void> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  const weights = new Uint8Array(saved!.weightData as ArrayBuffer);
  await writeFile(join(dir, 'group1-shard1of1.bin'), truncate ? weights.subarray(0, weights.length - 4) : weights);
  await writeFile(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: saved!.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: saved!.weightSpecs }] }));
}

test.before(async (t) => {
  await tf.setBackend('cpu');
  t.context.dir = await mkdtemp(join(tmpdir(), 'syncline-upload-model-'));
  t.context.model = tf.sequential({
    layers: [
      tf.layers.reshape({ inputShape: [784], targetShape: [28, 28, 1] }),
      tf.layers.conv2d({ name: 'features', filters: 3, kernelSize: 5, strides: 2, activation: 'relu' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  // One worker, for the job on the batch-norm base.
  t.context.cluster = await startLocalCluster({ workers: 1, log: () => undefined });
  // The commands below read the cluster's config file, as after `syncline up`.
  await writeDefaultConfig(t.context.cluster.clientConfig);
});
test.after.always(async (t) => {
  t.context.model?.dispose();
  await t.context.cluster?.stop();
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
});

test.serial('an uploaded model is served verified, predicts as the original, and is a base the coordinator checks jobs against', async (t) => {
  const { cluster, dir, model } = t.context;
  const coordinator = ['--coordinator', cluster.coordinator.grpcAddress];
  const good = join(dir, 'good');
  await (await import('node:fs/promises')).mkdir(good);
  await writeTfjsModel(model, good);
  const up = await runCli(['upload-model', good, '--name', 'converted', ...coordinator], 60_000);
  t.is(up.code, 0, up.stderr);
  t.regex(up.stdout, /^converted {2}v1 {2}http:\/\/\S+\/v1\/models\/converted\/1\/model\.json$/m);

  const loaded = await loadModel({ baseUrl: cluster.coordinator.httpUrl, name: 'converted' }, { backend: 'cpu', cache: false });
  const x = new Float32Array(784).map((_, i) => (i % 7) / 7);
  t.deepEqual(Array.from(loaded.predict(x)), Array.from((model.predict(tf.tensor2d(x, [1, 784])) as tf.Tensor).dataSync()));
  loaded.dispose();

  const job = (upTo: string) => ({
    name: 'on-converted',
    model: { base: { name: 'converted', upTo }, layers: [{ dense: { units: 10, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { adam: { learningRate: 0.001 } } },
    dataset: { name: 'mnist', classes: [5, 6, 7, 8, 9], trainLimit: 500 },
    training: { epochs: 1, globalBatchSize: 50, seed: 1 },
    workers: { min: 1 },
  });
  await writeFile(join(dir, 'ok.json'), JSON.stringify(job('flat')));
  const ok = await runCli(['validate', join(dir, 'ok.json'), ...coordinator], 60_000);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /valid, 10 steps \(checked by the coordinator/);
  await writeFile(join(dir, 'bad.json'), JSON.stringify(job('flatt')));
  const bad = await runCli(['validate', join(dir, 'bad.json'), ...coordinator], 60_000);
  t.is(bad.code, 3);
  t.regex(bad.stderr, /model\.base\.upTo: converted v1 has no layer "flatt" \(did you mean flat\?\)/);
});

test.serial('a weight file shorter than its weights need is refused, and nothing is registered', async (t) => {
  const { cluster, dir, model } = t.context;
  const broken = join(dir, 'broken');
  await (await import('node:fs/promises')).mkdir(broken);
  await writeTfjsModel(model, broken, true);
  const up = await runCli(['upload-model', broken, '--name', 'broken', '--coordinator', cluster.coordinator.grpcAddress], 60_000);
  t.is(up.code, 5);
  t.regex(up.stderr, /weightsManifest\[0\]: its files hold \d+ bytes but its weights .* need \d+/);
  const client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
  try {
    t.false((await client.models()).some((m) => m.ref?.name === 'broken'));
  } finally {
    client.close();
  }
});

/** A published model as plain TF.js loads it: model.json and its weight files over HTTP. */
async function fetchLayersModel(url: string): Promise<tf.LayersModel> {
  const get = async (u: string) => {
    const res = await fetch(u);
    if (!res.ok) throw new Error(`GET ${u}: ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const json = JSON.parse(new TextDecoder().decode(await get(url))) as { modelTopology: tf.io.ModelArtifacts['modelTopology']; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const parts = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => get(new URL(p, url).toString())));
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (weightData.set(p, at), at + p.length), 0);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: weightData.buffer }));
}

test.serial('an uploaded model with batch normalization is a base a job can freeze: it trains, and the published model keeps the frozen layers as uploaded', async (t) => {
  const { cluster, dir } = t.context;
  const coordinator = ['--coordinator', cluster.coordinator.grpcAddress];
  const bnModel = tf.sequential({
    layers: [
      tf.layers.reshape({ inputShape: [784], targetShape: [28, 28, 1] }),
      tf.layers.conv2d({ name: 'conv', filters: 3, kernelSize: 5, strides: 2 }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.activation({ name: 'relu', activation: 'relu' }),
      tf.layers.flatten({ name: 'features' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  // Moving statistics of a trained model, not the initial zeros and ones.
  const statistics = [[0.8, 1.1, 1.3], [0.1, -0.2, 0.3], [-0.3, 0.2, 0.4], [0.6, 1.2, 0.9]].map((v) => tf.tensor1d(v));
  bnModel.getLayer('bn').setWeights(statistics);
  tf.dispose(statistics);
  const uploaded = ['conv', 'bn'].map((name) => bnModel.getLayer(name).getWeights().map((w) => w.dataSync()));
  const folder = join(dir, 'bn');
  await (await import('node:fs/promises')).mkdir(folder);
  await writeTfjsModel(bnModel, folder);
  bnModel.dispose();
  const up = await runCli(['upload-model', folder, '--name', 'bn-base', ...coordinator], 60_000);
  t.is(up.code, 0, up.stderr);

  // Every kept layer frozen (trainableFrom defaults to all of them), batch norm included.
  const job = {
    name: 'on-bn-base',
    model: { base: { name: 'bn-base', upTo: 'features' }, layers: [{ dense: { units: 10, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { adam: { learningRate: 0.01 } } },
    dataset: { name: 'mnist', classes: [5, 6, 7, 8, 9], trainLimit: 200 },
    training: { epochs: 1, globalBatchSize: 50, seed: 1 },
    workers: { min: 1, max: 1 },
  };
  await writeFile(join(dir, 'bn.json'), JSON.stringify(job));
  const valid = await runCli(['validate', join(dir, 'bn.json'), ...coordinator], 60_000);
  t.is(valid.code, 0, valid.stderr);

  const client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
  try {
    const submitted = await client.submit(JobSpec.fromJSON(job));
    const done = await client.watch(submitted.id);
    t.is(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
    const published = await fetchLayersModel(done.model!.url);
    try {
      t.false(published.getLayer('bn').trainable);
      t.deepEqual(
        ['conv', 'bn'].map((name) => published.getLayer(name).getWeights().map((w) => w.dataSync())),
        uploaded,
        'the frozen convolution and batch norm (moving statistics included) are the uploaded ones, bit for bit',
      );
    } finally {
      published.dispose();
    }
  } finally {
    client.close();
  }
});

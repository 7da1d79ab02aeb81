// `syncline upload-model`: a TF.js layers model written as tensorflowjs_converter writes it (no
// digests) is registered, served with digests the SDK checks, and named as a base in a job that
// the coordinator checks against it; a broken upload is refused and registers nothing.
import anyTest, { type TestFn } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
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
  t.context.cluster = await startLocalCluster({ workers: 0, log: () => undefined });
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

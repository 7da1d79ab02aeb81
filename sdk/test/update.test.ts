// Hot swap against a real coordinator: a loaded model sees a newer published version, swaps to
// it in place (same object, new weights, old ones freed and dropped from the cache), refuses one
// whose shapes differ, and can watch for updates on a timer.
import * as tf from '@tensorflow/tfjs';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { loadModel, memoryCache, ModelLoadError, type SynclineModel } from '../src/index.js';
import { buildMlp, referenceOutputs, sampleInputs } from './helpers/reference-model.js';
import { startRegistry, type Registry } from './helpers/registry.js';

interface Context {
  registry: Registry;
  inputs: Float32Array;
}
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  await tf.setBackend('cpu');
  t.context = { registry: await startRegistry(), inputs: sampleInputs(2, 5) };
});
test.after.always(async (t) => {
  await t.context.registry?.stop();
});

/** Publishes a seeded MLP as the next version of `name`; resolves to its reference outputs. */
async function publish(t: ExecutionContext<Context>, name: string, seed: number): Promise<number[]> {
  const model = buildMlp(seed);
  await t.context.registry.publish(model, name);
  const outputs = referenceOutputs(model, t.context.inputs);
  model.dispose();
  return outputs;
}

function assertClose(t: ExecutionContext<Context>, model: SynclineModel, expected: number[]): void {
  const outputs = model.predict(t.context.inputs);
  const worst = expected.reduce((w, e, i) => Math.max(w, Math.abs(e - outputs[i]!)), 0);
  t.true(worst < 1e-5, `outputs differ by ${worst}`);
}

test.serial('checkForUpdate sees a newer version; update swaps to it in place and frees the old one', async (t) => {
  const { registry } = t.context;
  const v1 = await publish(t, 'swap', 1);
  const cache = memoryCache();
  const model = await loadModel({ baseUrl: registry.baseUrl, name: 'swap' }, { backend: 'cpu', cache });
  t.teardown(() => model.dispose());
  t.is(model.version, 1);
  assertClose(t, model, v1);
  t.false(await model.checkForUpdate());
  t.false(await model.update());

  const v2 = await publish(t, 'swap', 2);
  const tensors = tf.memory().numTensors;
  t.true(await model.checkForUpdate());
  t.true(await model.update());
  t.is(model.version, 2);
  assertClose(t, model, v2);
  t.is(tf.memory().numTensors, tensors, 'the old weights were freed');
  const cached = [...cache.entries.keys()].map((k) => new URL(k).pathname).sort();
  t.deepEqual(cached, ['/v1/models/swap/2/group1-shard1of1.bin', '/v1/models/swap/2/model.json', '/v1/models/swap/latest/model.json']);
  t.false(await model.checkForUpdate());
});

test.serial('concurrent updates swap once', async (t) => {
  const { registry } = t.context;
  await publish(t, 'twice', 1);
  const model = await loadModel({ baseUrl: registry.baseUrl, name: 'twice', version: 1 }, { backend: 'cpu', cache: false });
  t.teardown(() => model.dispose());
  const v2 = await publish(t, 'twice', 2);
  t.deepEqual((await Promise.all([model.update(), model.update()])).sort(), [false, true]);
  t.is(model.version, 2);
  assertClose(t, model, v2);
});

test.serial('the same variant is followed: a uint8 model updates to the next uint8', async (t) => {
  const { registry } = t.context;
  await publish(t, 'small', 1);
  const requests: string[] = [];
  const model = await loadModel(
    { baseUrl: registry.baseUrl, name: 'small' },
    { backend: 'cpu', quantization: 'uint8', cache: false, fetch: (input, init) => (requests.push(new URL(String(input)).pathname), fetch(input, init)) },
  );
  t.teardown(() => model.dispose());
  await publish(t, 'small', 2);
  requests.length = 0;
  t.true(await model.update());
  t.is(model.version, 2);
  t.is(model.quantization, 'uint8');
  t.deepEqual(requests, ['/v1/models/small/latest/uint8/model.json', '/v1/models/small/2/uint8/group1-shard1of1.bin']);
});

test.serial('a newer version with other shapes is refused and the current one kept', async (t) => {
  const { registry } = t.context;
  const v1 = await publish(t, 'shapes', 1);
  const model = await loadModel({ baseUrl: registry.baseUrl, name: 'shapes' }, { backend: 'cpu', cache: false });
  t.teardown(() => model.dispose());
  const wider = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 12, activation: 'softmax' })] });
  await registry.publish(wider, 'shapes');
  wider.dispose();
  const tensors = tf.memory().numTensors;
  const error = await t.throwsAsync(model.update(), { instanceOf: ModelLoadError });
  t.regex(error?.message ?? '', /gives 12 values/);
  t.is(model.version, 1);
  assertClose(t, model, v1);
  t.is(tf.memory().numTensors, tensors, 'the refused version was freed');
});

test.serial('watchForUpdates swaps on its own and stops when told or on dispose', async (t) => {
  const { registry } = t.context;
  await publish(t, 'watched', 1);
  const model = await loadModel({ baseUrl: registry.baseUrl, name: 'watched' }, { backend: 'cpu', cache: false });
  const swapped = new Promise<number>((resolve, reject) => {
    model.watchForUpdates({ intervalMs: 50, onUpdate: (m) => resolve(m.version), onError: reject });
  });
  const v2 = await publish(t, 'watched', 2);
  t.is(await swapped, 2);
  assertClose(t, model, v2);
  model.dispose();
  await t.throwsAsync(model.update(), { message: /disposed/ });
});

test.serial('a model from a URL outside the coordinator layout has no latest to check', async (t) => {
  const { registry } = t.context;
  await publish(t, 'plain', 1);
  const url = `${registry.baseUrl}/v1/models/plain/1/model.json?pinned`;
  const model = await loadModel(url, { backend: 'cpu', cache: false });
  t.teardown(() => model.dispose());
  await t.throwsAsync(model.checkForUpdate(), { instanceOf: TypeError });
  await t.throwsAsync(model.update(), { instanceOf: TypeError });
});

// Signed models in Node: the coordinator signs every published version (and each variant it
// derives); with trustedKeys the SDK loads only models signed by one of them and unaltered since.
import * as tf from '@tensorflow/tfjs';
import anyTest, { type TestFn } from 'ava';
import { jobBucket } from '@syncline/proto';
import { ModelIntegrityError, ModelSignatureError, SignatureProblem, loadModel, type Quantization } from '../src/index.js';
import { serveProxy, type TestServer } from './helpers/browser-servers.js';
import { buildMlp, referenceOutputs, sampleInputs } from './helpers/reference-model.js';
import { startRegistry, type Registry } from './helpers/registry.js';

const test = anyTest as TestFn<{ registry: Registry; proxies: Map<string, TestServer>; inputs: Float32Array; expected: number[] }>;

test.before(async (t) => {
  await tf.setBackend('cpu');
  const registry = await startRegistry();
  const model = buildMlp(3);
  const inputs = sampleInputs(4, 11);
  const expected = referenceOutputs(model, inputs);
  await registry.publish(model, 'signed');
  await registry.publish(model, 'plain', { unsigned: true });
  await registry.publish(model, 'altered');
  model.dispose();
  const proxies = new Map<string, TestServer>();
  for (const tamper of ['shard', 'model-json', 'shard-and-digest'] as const) proxies.set(tamper, await serveProxy(registry.baseUrl, { tamper }));
  t.context = { registry, proxies, inputs, expected };
});

test.after.always(async (t) => {
  await Promise.all([...(t.context.proxies?.values() ?? [])].map((p) => p.close()));
  await t.context.registry?.stop();
});

const trusted = (t: { context: { registry: Registry } }) => ({ trustedKeys: [t.context.registry.publicKey], cache: false as const, backend: 'cpu' });

test('the coordinator lists its public key at /v1/keys', async (t) => {
  const { registry } = t.context;
  const keys = (await (await fetch(`${registry.baseUrl}/v1/keys`)).json()) as { keys: { algorithm: string; publicKey: string }[] };
  t.deepEqual(keys, { keys: [{ algorithm: 'ed25519', publicKey: registry.publicKey }] });
  t.is(registry.coordinator.modelPublicKey, registry.publicKey);
});

for (const quantization of ['float32', 'uint8'] as Quantization[]) {
  test(`a signed model (${quantization}) loads with its key trusted and predicts`, async (t) => {
    const model = await loadModel({ baseUrl: t.context.registry.baseUrl, name: 'signed', version: 'latest' }, { ...trusted(t), quantization });
    try {
      const out = Array.from(model.predict(t.context.inputs));
      const worst = out.reduce((w, v, i) => Math.max(w, Math.abs(v - t.context.expected[i]!)), 0);
      t.true(worst < (quantization === 'float32' ? 1e-5 : 0.05), `differs by ${worst}`);
    } finally {
      model.dispose();
    }
  });
}

test('without trustedKeys, signatures are not checked (an unsigned model loads as before)', async (t) => {
  const model = await loadModel({ baseUrl: t.context.registry.baseUrl, name: 'plain' }, { cache: false, backend: 'cpu' });
  model.dispose();
  t.pass();
});

test('an unsigned model is refused when keys are trusted', async (t) => {
  const err = await t.throwsAsync(loadModel({ baseUrl: t.context.registry.baseUrl, name: 'plain' }, trusted(t)), { instanceOf: ModelSignatureError });
  t.is(err?.problem, SignatureProblem.Unsigned);
  t.is(err?.name, 'ModelSignatureError');
});

test('a model signed by a key not trusted is refused', async (t) => {
  const other = Buffer.alloc(32, 7).toString('base64');
  const err = await t.throwsAsync(loadModel({ baseUrl: t.context.registry.baseUrl, name: 'signed' }, { ...trusted(t), trustedKeys: [other] }), { instanceOf: ModelSignatureError });
  t.is(err?.problem, SignatureProblem.UntrustedKey);
});

for (const quantization of ['float32', 'uint8'] as Quantization[]) {
  test(`a tampered model.json (${quantization}) is refused`, async (t) => {
    const err = await t.throwsAsync(loadModel({ baseUrl: t.context.proxies.get('model-json')!.url, name: 'signed' }, { ...trusted(t), quantization }), { instanceOf: ModelSignatureError });
    t.is(err?.problem, SignatureProblem.BadSignature);
    t.regex(err!.message, /altered after it was signed/);
  });

  test(`a tampered shard (${quantization}) is refused by its digest, and with a digest to match by the signature`, async (t) => {
    const shard = await t.throwsAsync(loadModel({ baseUrl: t.context.proxies.get('shard')!.url, name: 'signed' }, { ...trusted(t), quantization }), { instanceOf: ModelIntegrityError });
    t.is(shard?.check, 'sha256');
    const forged = await t.throwsAsync(loadModel({ baseUrl: t.context.proxies.get('shard-and-digest')!.url, name: 'signed' }, { ...trusted(t), quantization }), { instanceOf: ModelSignatureError });
    t.is(forged?.problem, SignatureProblem.BadSignature);
  });
}

test('model.json rewritten in the object store after publishing (by a worker of the job) is refused', async (t) => {
  const { registry } = t.context;
  const url = `${registry.baseUrl}/v1/models/altered/1/model.json`;
  const served = (await (await fetch(url)).json()) as { syncline: { jobId: string }; modelTopology: { config: { layers: { config: { activation?: string } }[] } } };
  // The registry helper stores rank 0's files under models/<jobId> in the job's bucket.
  const jobId = served.syncline.jobId;
  const store = await registry.coordinator.nc.jetstream().views.os(jobBucket(jobId));
  const stored = JSON.parse(new TextDecoder().decode((await store.getBlob(`models/${jobId}/model.json`))!)) as typeof served;
  stored.modelTopology.config.layers.at(-1)!.config.activation = 'linear';
  await store.putBlob({ name: `models/${jobId}/model.json` }, new TextEncoder().encode(JSON.stringify(stored)));
  // A coordinator that has not read it yet (another replica, or this one restarted) serves the altered file.
  const fresh = await startRegistryReader(registry);
  const err = await t.throwsAsync(loadModel({ baseUrl: fresh.baseUrl, name: 'altered', version: 1 }, trusted(t)), { instanceOf: ModelSignatureError });
  t.is(err?.problem, SignatureProblem.BadSignature);
  await fresh.stop();
});

/** Another coordinator on the same NATS (and so the same versions), with an empty file cache. */
async function startRegistryReader(registry: Registry): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const { startCoordinator } = await import('@syncline/coordinator');
  const coordinator = await startCoordinator({ natsUrl: registry.natsUrl, natsAccountKey: registry.natsAccountKey, secrets: registry.secrets });
  return { baseUrl: coordinator.httpUrl, stop: () => coordinator.stop() };
}

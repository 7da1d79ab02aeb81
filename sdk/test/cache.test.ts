// The SDK's cache against a real coordinator: a pinned version loads again with no request at
// all, `latest` with only its model.json; whatever comes out of the cache is verified, and a
// corrupt entry is dropped and fetched again. Node has no Cache API, so memoryCache() stands in
// (the browser test runs the same paths through the Cache API).
import * as tf from '@tensorflow/tfjs';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { loadModel, memoryCache, type LoadOptions, type ModelCache } from '../src/index.js';
import { buildMlp, referenceOutputs, sampleInputs } from './helpers/reference-model.js';
import { startRegistry, type Registry } from './helpers/registry.js';

interface Context {
  registry: Registry;
  inputs: Float32Array;
  expected: number[];
}
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  await tf.setBackend('cpu');
  const registry = await startRegistry();
  const model = buildMlp(3);
  await registry.publish(model, 'cached');
  const inputs = sampleInputs(3, 11);
  t.context = { registry, inputs, expected: referenceOutputs(model, inputs) };
  model.dispose();
});
test.after.always(async (t) => {
  await t.context.registry?.stop();
});

/** Loads through a fetch that records the paths it asks for; disposes the model after checking its outputs. */
async function load(t: ExecutionContext<Context>, cache: ModelCache, options: LoadOptions & { version?: number | 'latest' } = {}): Promise<string[]> {
  const { registry, inputs, expected } = t.context;
  const requests: string[] = [];
  const model = await loadModel(
    { baseUrl: registry.baseUrl, name: 'cached', version: options.version ?? 1 },
    {
      backend: 'cpu',
      cache,
      fetch: (input, init) => {
        requests.push(new URL(String(input)).pathname);
        return options.fetch ? options.fetch(input, init) : fetch(input, init);
      },
      ...(options.quantization && { quantization: options.quantization }),
    },
  );
  try {
    const outputs = model.predict(inputs);
    const worst = expected.reduce((w, e, i) => Math.max(w, Math.abs(e - outputs[i]!)), 0);
    t.true(worst < (options.quantization === 'uint8' ? 0.05 : 1e-5), `outputs differ by ${worst}`);
  } finally {
    model.dispose();
  }
  return requests;
}

const SHARD = '/v1/models/cached/1/group1-shard1of1.bin';
const shardKey = (t: ExecutionContext<Context>) => `${t.context.registry.baseUrl}${SHARD}`;

test('a pinned version loads a second time without a single request', async (t) => {
  const cache = memoryCache();
  t.deepEqual(await load(t, cache), ['/v1/models/cached/1/model.json', SHARD]);
  t.deepEqual([...cache.entries.keys()].map((k) => new URL(k).pathname).sort(), ['/v1/models/cached/1/group1-shard1of1.bin', '/v1/models/cached/1/model.json']);
  t.deepEqual(await load(t, cache), []);
});

test('latest asks only for its model.json once the version is cached, and works offline', async (t) => {
  const cache = memoryCache();
  t.deepEqual(await load(t, cache, { version: 'latest' }), ['/v1/models/cached/latest/model.json', SHARD]);
  t.deepEqual(await load(t, cache, { version: 'latest' }), ['/v1/models/cached/latest/model.json']);
  // The pinned model.json was cached on the way, so version 1 needs nothing.
  t.deepEqual(await load(t, cache, { version: 1 }), []);
  const offline = () => Promise.reject(new TypeError('fetch failed'));
  t.deepEqual(await load(t, cache, { version: 'latest', fetch: offline }), ['/v1/models/cached/latest/model.json']);
  // A registry riding out a NATS outage: the cached copy serves at once, without retries.
  const unavailable = () => Promise.resolve(new Response('{"error":"NATS is unavailable"}', { status: 503, headers: { 'retry-after': '1' } }));
  t.deepEqual(await load(t, cache, { version: 'latest', fetch: unavailable }), ['/v1/models/cached/latest/model.json']);
});

test('latest with nothing cached is asked again through a passing failure', async (t) => {
  let failures = 2;
  const flaky = (input: string | URL | Request, init?: RequestInit) => (new URL(String(input)).pathname.endsWith('model.json') && failures-- > 0 ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init));
  t.deepEqual(await load(t, memoryCache(), { version: 'latest', fetch: flaky }), ['/v1/models/cached/latest/model.json', '/v1/models/cached/latest/model.json', '/v1/models/cached/latest/model.json', SHARD]);
});

test('a corrupt cached shard is detected, dropped and fetched again', async (t) => {
  const cache = memoryCache();
  await load(t, cache);
  const good = cache.entries.get(shardKey(t))!;
  const bad = new Uint8Array(good.slice(0));
  bad[40] = bad[40]! ^ 0x01;
  cache.entries.set(shardKey(t), bad.buffer);
  t.deepEqual(await load(t, cache), [SHARD]);
  t.deepEqual(new Uint8Array(cache.entries.get(shardKey(t))!), new Uint8Array(good), 'replaced by the good bytes');
  // A truncated entry too.
  cache.entries.set(shardKey(t), good.slice(0, 100));
  t.deepEqual(await load(t, cache), [SHARD]);
  t.deepEqual(await load(t, cache), []);
});

test('a corrupt cached model.json is dropped: unreadable, or promising other digests', async (t) => {
  const cache = memoryCache();
  await load(t, cache);
  const key = `${t.context.registry.baseUrl}/v1/models/cached/1/model.json`;
  const good = cache.entries.get(key)!;
  cache.entries.set(key, new TextEncoder().encode('{"format": "layers-mo').buffer);
  t.deepEqual(await load(t, cache), ['/v1/models/cached/1/model.json']);
  // Valid JSON whose digest no longer matches the (good) cached shard: the shard is dropped and
  // fetched, fails the same digest, so the manifest is the suspect: it is fetched again, then the shard.
  const json = JSON.parse(new TextDecoder().decode(good));
  json.weightsManifest[0].sha256[0] = 'f'.repeat(64);
  cache.entries.set(key, new TextEncoder().encode(JSON.stringify(json)).buffer);
  t.deepEqual(await load(t, cache), [SHARD, '/v1/models/cached/1/model.json', SHARD]);
  t.deepEqual(await load(t, cache), []);
});

test('variants are cached under URLs of their own', async (t) => {
  const cache = memoryCache();
  await load(t, cache);
  t.deepEqual(await load(t, cache, { quantization: 'uint8' }), ['/v1/models/cached/1/uint8/model.json', '/v1/models/cached/1/uint8/group1-shard1of1.bin']);
  t.deepEqual(await load(t, cache, { quantization: 'uint8' }), []);
  t.is(cache.entries.size, 4);
});

test('cache: false keeps nothing and always downloads', async (t) => {
  const { registry } = t.context;
  const requests: string[] = [];
  for (let i = 0; i < 2; i++) {
    const model = await loadModel(
      { baseUrl: registry.baseUrl, name: 'cached', version: 1 },
      { cache: false, backend: 'cpu', fetch: (input, init) => (requests.push(String(input)), fetch(input, init)) },
    );
    model.dispose();
  }
  t.is(requests.length, 4);
});

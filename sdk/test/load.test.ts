// loadModel against a real HTTP server and models published by @tensorflow/tfjs: same numbers
// as the reference, `latest` pinned to a version, progress, integrity failures, HTTP errors, memory.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { IntegrityCheck, loadModel, ModelIntegrityError, ModelLoadError, type BackendName } from '../src/index.js';
import { serveArtifacts, type ArtifactServer } from './helpers/artifact-server.js';
import { buildMlp, CLASSES, publish, referenceOutputs, sampleInputs } from './helpers/reference-model.js';

interface Context {
  root: string;
  server: ArtifactServer;
  inputs: Float32Array;
  /** Reference outputs (computed on the cpu backend) per published version of `mlp`. */
  expected: Map<number, number[]>;
}

const test = anyTest as TestFn<Context>;
const BATCH = 5;

test.before(async (t) => {
  // The reference runs on tfjs's plain-JS cpu kernels; the SDK is then checked on wasm and cpu.
  await tf.setBackend('cpu');
  const root = await mkdtemp(path.join(tmpdir(), 'syncline-sdk-'));
  const inputs = sampleInputs(BATCH, 7);
  const expected = new Map<number, number[]>();
  // Version 2 is split over three shards, so reassembly across shard boundaries is exercised too.
  for (const [version, shards] of [[1, 1], [2, 3]] as const) {
    const model = buildMlp(version * 10);
    await publish(model, root, 'mlp', version, shards);
    expected.set(version, referenceOutputs(model, inputs));
    model.dispose();
  }
  // Damaged copies of version 1: one flipped byte, one shard missing its last 4 bytes.
  const shard = await readFile(path.join(root, 'mlp', '1', 'group1-shard1of1.bin'));
  const modelJson = await readFile(path.join(root, 'mlp', '1', 'model.json'), 'utf8');
  for (const [name, bytes] of [
    ['corrupt', Buffer.from(shard).fill(shard[100]! ^ 0xff, 100, 101)],
    ['truncated', shard.subarray(0, shard.length - 4)],
  ] as const) {
    const dir = path.join(root, name, '1');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'model.json'), modelJson.replace('"name":"mlp"', `"name":"${name}"`));
    await writeFile(path.join(dir, 'group1-shard1of1.bin'), bytes);
  }
  t.context = { root, server: await serveArtifacts(root), inputs, expected };
});

test.after.always(async (t) => {
  await t.context.server?.close();
  if (t.context.root) await rm(t.context.root, { recursive: true, force: true });
});

function assertClose(t: ExecutionContext<Context>, actual: Float32Array, expected: number[] | undefined): void {
  if (expected === undefined) return t.fail('no reference outputs');
  t.is(actual.length, expected.length);
  const worst = expected.reduce((max, e, i) => Math.max(max, Math.abs(e - (actual[i] ?? NaN))), 0);
  t.true(worst < 1e-5, `largest difference from the reference is ${worst}`);
}

for (const backend of ['wasm', 'cpu'] satisfies BackendName[]) {
  test.serial(`version 1 on ${backend} predicts what the reference model predicts`, async (t) => {
    const { server, inputs, expected } = t.context;
    const model = await loadModel({ baseUrl: server.baseUrl, name: 'mlp', version: 1 }, { backend });
    t.teardown(() => model.dispose());
    t.is(model.backend, backend);
    t.is(tf.getBackend(), backend);
    t.deepEqual([model.name, model.version, model.inputShape, model.outputSize], ['mlp', 1, [784], CLASSES]);
    assertClose(t, model.predict(inputs), expected.get(1));
  });
}

test.serial('the input forms agree: flat array, rows, predictBatch, one sample', async (t) => {
  const { server, inputs, expected } = t.context;
  const model = await loadModel(`${server.baseUrl}/v1/models/mlp/1/model.json`);
  t.teardown(() => model.dispose());
  const rows = Array.from({ length: BATCH }, (_, i) => Array.from(inputs.subarray(i * 784, (i + 1) * 784)));
  assertClose(t, model.predict(rows), expected.get(1));
  assertClose(t, model.predict(Array.from(inputs)), expected.get(1));
  assertClose(t, model.predictBatch(inputs, BATCH), expected.get(1));
  assertClose(t, model.predict(inputs.subarray(0, 784)), expected.get(1)?.slice(0, CLASSES));

  const reference = expected.get(1) ?? [];
  const argmax = (row: number[]) => row.indexOf(Math.max(...row));
  const classes = Array.from({ length: BATCH }, (_, i) => argmax(reference.slice(i * CLASSES, (i + 1) * CLASSES)));
  t.deepEqual(model.predictClass(inputs), classes);

  t.throws(() => model.predict(inputs.subarray(0, 783)), { instanceOf: RangeError });
  t.throws(() => model.predictBatch(inputs, BATCH + 1), { instanceOf: RangeError });
  t.throws(() => model.predict([[1, 2, 3]]), { instanceOf: RangeError });
});

test.serial('latest resolves to the newest version and fetches its shards by version', async (t) => {
  const { server, inputs, expected } = t.context;
  const before = server.requests.length;
  const model = await loadModel({ baseUrl: `${server.baseUrl}/`, name: 'mlp' });
  t.teardown(() => model.dispose());
  t.is(model.version, 2);
  assertClose(t, model.predict(inputs), expected.get(2));
  t.deepEqual(server.requests.slice(before).sort(), [
    '/v1/models/mlp/2/group1-shard1of3.bin',
    '/v1/models/mlp/2/group1-shard2of3.bin',
    '/v1/models/mlp/2/group1-shard3of3.bin',
    '/v1/models/mlp/latest/model.json',
  ]);
});

test.serial('onProgress rises to 1', async (t) => {
  const { server } = t.context;
  const fractions: number[] = [];
  const model = await loadModel({ baseUrl: server.baseUrl, name: 'mlp', version: 2 }, { onProgress: (f) => fractions.push(f) });
  model.dispose();
  t.true(fractions.length >= 2, `only ${fractions.length} progress calls`);
  t.is(fractions.at(-1), 1);
  t.true(fractions.every((f, i) => f > 0 && f <= 1 && (i === 0 || f > (fractions[i - 1] ?? 1))), `not rising: ${fractions.join(', ')}`);
});

test.serial('a shard with one flipped byte is refused by its sha256', async (t) => {
  const { server } = t.context;
  const error = await t.throwsAsync(loadModel({ baseUrl: server.baseUrl, name: 'corrupt', version: 1 }), {
    instanceOf: ModelIntegrityError,
  });
  t.is(error?.name, 'ModelIntegrityError');
  t.is(error?.shard, 'group1-shard1of1.bin');
  t.is(error?.check, IntegrityCheck.Sha256);
  t.regex(String(error?.expected), /^[0-9a-f]{64}$/);
  t.regex(String(error?.actual), /^[0-9a-f]{64}$/);
  t.not(error?.expected, error?.actual);
  t.true(error?.url.endsWith('/v1/models/corrupt/1/group1-shard1of1.bin'));
  t.regex(error?.message ?? '', /group1-shard1of1\.bin/);
});

test.serial('a truncated shard is refused by its size', async (t) => {
  const { server } = t.context;
  const error = await t.throwsAsync(loadModel({ baseUrl: server.baseUrl, name: 'truncated', version: 1 }), {
    instanceOf: ModelIntegrityError,
  });
  // 784·16 + 16 + 16·10 + 10 float32 weights.
  const bytes = (784 * 16 + 16 + 16 * 10 + 10) * 4;
  t.deepEqual([error?.shard, error?.check, error?.expected, error?.actual], ['group1-shard1of1.bin', IntegrityCheck.ByteLength, bytes, bytes - 4]);
});

test.serial('an unknown model or version is a ModelLoadError with the status, URL and server message', async (t) => {
  const { server } = t.context;
  for (const source of [{ name: 'nope', version: 1 }, { name: 'mlp', version: 9 }, { name: 'nope', version: 'latest' }] as const) {
    const url = `${server.baseUrl}/v1/models/${source.name}/${source.version}/model.json`;
    const error = await t.throwsAsync(loadModel({ baseUrl: server.baseUrl, ...source }), { instanceOf: ModelLoadError });
    t.is(error?.name, 'ModelLoadError');
    t.is(error?.status, 404);
    t.is(error?.url, url);
    t.regex(error?.serverMessage ?? '', /not found|has no/);
    t.true(error?.message.includes(url));
  }
});

test.serial('a network failure is a ModelLoadError with the cause', async (t) => {
  const refused = new TypeError('fetch failed');
  const error = await t.throwsAsync(
    loadModel('http://127.0.0.1:9/v1/models/mlp/1/model.json', { fetch: () => Promise.reject(refused) }),
    { instanceOf: ModelLoadError },
  );
  t.is(error?.cause, refused);
  t.is(error?.status, undefined);
});

test.serial('a 503 or a network failure is asked again (Retry-After honoured) and the model loads; a 404 is final; retries: 0 asks once', async (t) => {
  const { server, inputs, expected } = t.context;
  const url = `${server.baseUrl}/v1/models/mlp/1/model.json`;
  // Each file's first request fails: model.json with a refused connection, then a 503 with
  // Retry-After; the shard with a 502.
  const seen = new Map<string, number>();
  const flaky = async (input: string | URL | Request, init?: RequestInit) => {
    const path = new URL(String(input)).pathname;
    const n = (seen.get(path) ?? 0) + 1;
    seen.set(path, n);
    if (path.endsWith('model.json') && n === 1) throw new TypeError('fetch failed');
    if (path.endsWith('model.json') && n === 2) return new Response(JSON.stringify({ error: 'NATS is unavailable' }), { status: 503, headers: { 'retry-after': '1' } });
    if (path.endsWith('.bin') && n === 1) return new Response('bad gateway', { status: 502 });
    return fetch(input, init);
  };
  const started = performance.now();
  const model = await loadModel(url, { fetch: flaky, cache: false, backend: 'cpu' });
  const waited = performance.now() - started;
  assertClose(t, model.predict(inputs), expected.get(1));
  model.dispose();
  t.deepEqual([...seen.values()], [3, 2], 'model.json asked 3 times, the shard twice');
  t.true(waited >= 1000, `Retry-After: 1 was honoured (${waited.toFixed(0)} ms)`);

  const asked = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
  const missing = new Map<string, number>();
  const notFound = await t.throwsAsync(
    loadModel(`${server.baseUrl}/v1/models/none/1/model.json`, { cache: false, fetch: (input, init) => (missing.set(String(input), (missing.get(String(input)) ?? 0) + 1), fetch(input, init)) }),
    { instanceOf: ModelLoadError },
  );
  t.is(notFound?.status, 404);
  t.is(asked(missing), 1, 'a 404 is not asked again');

  const unavailable = new Map<string, number>();
  const once = await t.throwsAsync(
    loadModel(url, { cache: false, retries: 0, fetch: (input) => (unavailable.set(String(input), (unavailable.get(String(input)) ?? 0) + 1), Promise.resolve(new Response('{"error":"down"}', { status: 503 }))) }),
    { instanceOf: ModelLoadError },
  );
  t.is(once?.status, 503);
  t.is(once?.serverMessage, 'down');
  t.is(asked(unavailable), 1, 'retries: 0 asks once');
});

test.serial('a shard whose download is cut off mid-way is fetched again, and progress never falls; with retries: 0 the load fails', async (t) => {
  const { server, inputs, expected } = t.context;
  const url = `${server.baseUrl}/v1/models/mlp/2/model.json`;
  // The first answer for each shard sends 100 bytes, then the connection "resets".
  const cut = (retries: number) => {
    const shards = new Map<string, number>();
    const fetchFn = async (input: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(input, init);
      const path = new URL(String(input)).pathname;
      if (!path.endsWith('.bin')) return response;
      const n = (shards.get(path) ?? 0) + 1;
      shards.set(path, n);
      if (n > 1) return response;
      const head = new Uint8Array(await response.arrayBuffer()).subarray(0, 100);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(head);
          controller.error(new Error('connection reset'));
        },
      });
      return new Response(body, { status: 200, headers: response.headers });
    };
    const progress: number[] = [];
    return { shards, progress, options: { fetch: fetchFn, cache: false as const, backend: 'cpu', retries, onProgress: (f: number) => progress.push(f) } };
  };
  const again = cut(2);
  const model = await loadModel(url, again.options);
  assertClose(t, model.predict(inputs), expected.get(2));
  model.dispose();
  t.deepEqual([...again.shards.values()], [2, 2, 2], 'each of the 3 shards downloaded twice');
  t.true(again.progress.every((f, i) => i === 0 || f > again.progress[i - 1]!), `progress rises: ${again.progress.join(', ')}`);
  t.is(again.progress.at(-1), 1);

  const once = cut(0);
  const error = await t.throwsAsync(loadModel(url, once.options), { instanceOf: ModelLoadError });
  t.regex(error!.message, /reading the response body failed/);
  await t.throwsAsync(loadModel(url, { retries: -1 }), { instanceOf: TypeError, message: /options.retries must be a whole number/ });
});

test.serial('dispose leaves no tensors behind', async (t) => {
  const { server, inputs } = t.context;
  for (const backend of ['wasm', 'cpu'] satisfies BackendName[]) {
    const before = tf.memory().numTensors;
    const model = await loadModel({ baseUrl: server.baseUrl, name: 'mlp', version: 2 }, { backend });
    t.true(tf.memory().numTensors > before);
    model.predict(inputs);
    model.predictClass(inputs);
    model.predictBatch(inputs, BATCH);
    model.dispose();
    model.dispose();
    t.is(tf.memory().numTensors, before, backend);
    t.throws(() => model.predict(inputs), { message: /disposed/ });
  }
});

test.serial('a model.json that disagrees with the request is refused before any shard is fetched', async (t) => {
  const { root } = t.context;
  const published = JSON.parse(await readFile(path.join(root, 'mlp', '1', 'model.json'), 'utf8'));
  const requested: string[] = [];
  const serve = (body: unknown, headers: Record<string, string> = {}) => (input: string | URL | Request) => {
    requested.push(String(input));
    return Promise.resolve(new Response(JSON.stringify(body), { headers }));
  };
  const cases: [string, Parameters<typeof loadModel>, RegExp][] = [
    ['another name', [{ baseUrl: 'http://h', name: 'other', version: 1 }, { fetch: serve(published) }], /asked for model "other"/],
    ['another version', [{ baseUrl: 'http://h', name: 'mlp', version: 2 }, { fetch: serve(published) }], /asked for version 2/],
    [
      'a header that contradicts the body',
      [{ baseUrl: 'http://h', name: 'mlp' }, { fetch: serve(published, { 'x-syncline-version': '3' }) }],
      /x-syncline-version says 3/,
    ],
  ];
  for (const [what, args, message] of cases) {
    const error = await t.throwsAsync(loadModel(...args), { instanceOf: ModelLoadError }, what);
    t.regex(error?.message ?? '', message, what);
  }
  t.true(requested.every((url) => url.endsWith('/model.json')));
});

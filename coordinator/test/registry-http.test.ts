// The HTTP registry's quantized variants and caching headers, against a real nats-server and
// coordinator: variant URLs of their own with their own digests, generated once and kept in the
// object store, immutable by version, revalidated (ETag, 304) under `latest`, CORS on all.
import { createHash } from 'node:crypto';
import anyTest, { type TestFn } from 'ava';
import { jobBucket } from '@syncline/proto';
import { ModelRegistry } from '../src/registry/model-registry.js';
import { publish, startFixture, type Fixture } from './helpers/cluster.js';

const test = anyTest as TestFn<{ fixture: Fixture; base: string; weights: Float32Array }>;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

test.before(async (t) => {
  const fixture = await startFixture();
  const weights = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.5);
  await publish(fixture, 'm', 'jobs/a', weights);
  await publish(fixture, 'm', 'jobs/b', weights.map((w) => w * 2));
  t.context = { fixture, base: fixture.coordinator.httpUrl, weights };
});
test.after.always(async (t) => {
  await t.context.fixture?.stop();
});

test.serial('each variant has its own model.json, shard URLs and digests; versioned URLs are immutable', async (t) => {
  const { base, weights } = t.context;
  const seen = new Map<string, string>();
  for (const [variant, bytesPerValue] of [['', 4], ['float16/', 2], ['uint8/', 1]] as const) {
    const folder = `${base}/v1/models/m/1/${variant}`;
    const response = await fetch(`${folder}model.json`);
    t.is(response.status, 200, variant);
    t.is(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    t.is(response.headers.get('access-control-allow-origin'), '*');
    t.is(response.headers.get('x-syncline-version'), '1');
    const json = await response.json();
    t.is(json.syncline.quantization, variant === '' ? undefined : variant.slice(0, -1));
    t.deepEqual([json.syncline.name, json.syncline.version, json.syncline.jobId], ['m', 1, 'jobs-a']);
    const [group] = json.weightsManifest;
    const [spec] = group.weights;
    t.is(spec.quantization?.dtype, variant === '' ? undefined : variant.slice(0, -1));
    if (variant === 'uint8/') t.true(typeof spec.quantization.scale === 'number' && typeof spec.quantization.min === 'number');
    for (const [i, path] of group.paths.entries()) {
      const shard = await fetch(`${folder}${path}`);
      t.is(shard.status, 200);
      t.is(shard.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      t.is(shard.headers.get('access-control-allow-origin'), '*');
      const bytes = new Uint8Array(await shard.arrayBuffer());
      t.is(bytes.byteLength, weights.length * bytesPerValue);
      t.is(sha256(bytes), group.sha256[i]);
      t.false(seen.has(group.sha256[i]), 'every variant has bytes (and a digest) of its own');
      seen.set(group.sha256[i], `${folder}${path}`);
    }
  }
  t.is(new Set(seen.values()).size, 3, 'and a URL of its own');
});

test.serial('a variant is generated once and kept in the object store beside the published files', async (t) => {
  const { base, fixture } = t.context;
  const store = await fixture.coordinator.nc.jetstream().views.os(jobBucket('jobs-b'));
  t.is(await store.info('jobs/b/uint8/model.json'), null);
  // Concurrent first requests share one generation.
  const texts = await Promise.all([1, 2, 3].map(() => fetch(`${base}/v1/models/m/2/uint8/model.json`).then((r) => r.text())));
  t.is(new Set(texts).size, 1);
  const stored = await store.info('jobs/b/uint8/model.json');
  t.truthy(stored);
  t.true(texts.includes(await fetch(`${base}/v1/models/m/2/uint8/model.json`).then((r) => r.text())));
  t.is((await store.info('jobs/b/uint8/model.json'))?.mtime, stored?.mtime, 'not written again');
  // A new registry (another coordinator, or this one restarted) finds it rather than making it.
  const registry = await ModelRegistry.open(fixture.coordinator.nc);
  const model = await registry.resolve('m', 2);
  t.truthy(await registry.readVariantFile(model, 'uint8', 'group1-shard1of1.bin'));
  t.is((await store.info('jobs/b/uint8/model.json'))?.mtime, stored?.mtime);
});

test.serial('latest is revalidated: no-cache with an ETag per version and variant, 304 when it still matches', async (t) => {
  const { base } = t.context;
  const etags = new Set<string>();
  for (const variant of ['', 'float16/', 'uint8/']) {
    const url = `${base}/v1/models/m/latest/${variant}model.json`;
    const response = await fetch(url);
    t.is(response.status, 200);
    t.is(response.headers.get('cache-control'), 'no-cache');
    t.is(response.headers.get('x-syncline-version'), '2');
    t.regex(response.headers.get('access-control-expose-headers') ?? '', /x-syncline-version/);
    const etag = response.headers.get('etag') ?? '';
    t.regex(etag, /^"m-2-(float32|float16|uint8)"$/);
    etags.add(etag);
    const again = await fetch(url, { headers: { 'if-none-match': etag } });
    t.is(again.status, 304);
    t.is(await again.text(), '');
    t.is(again.headers.get('access-control-allow-origin'), '*');
    t.is((await fetch(url, { headers: { 'if-none-match': '"m-1-float32"' } })).status, 200);
  }
  t.is(etags.size, 3);
});

test.serial('shards under latest, unknown variants and bad names are refused with a JSON error', async (t) => {
  const { base } = t.context;
  for (const [path, status] of [
    ['/v1/models/m/latest/uint8/group1-shard1of1.bin', 404],
    ['/v1/models/m/1/int4/model.json', 404],
    ['/v1/models/m/1/uint8/nope.bin', 404],
    ['/v1/models/m/0/uint8/model.json', 400],
    ['/v1/models/nope/1/uint8/model.json', 404],
  ] as const) {
    const response = await fetch(`${base}${path}`);
    t.is(response.status, status, path);
    t.is(typeof (await response.json()).error, 'string', path);
  }
});

test.serial('the demo page is served, and names the SDK bundle it loads', async (t) => {
  const { base } = t.context;
  const response = await fetch(`${base}/demo`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /text\/html/);
  const html = await response.text();
  t.regex(html, /demo\/sdk\/syncline-sdk\.min\.js/);
  t.regex(html, /<canvas id="pad"/);
  t.is((await fetch(`${base}/demo/sdk/../secret.js`)).status, 404);
  t.is((await fetch(`${base}/demo/sdk/nope.txt`)).status, 404);
});

test.serial('shards answer Range requests (206, 416) and revalidate by their sha256 ETag', async (t) => {
  const { base, weights } = t.context;
  const url = `${base}/v1/models/m/1/group1-shard1of1.bin`;
  const whole = await fetch(url);
  const bytes = new Uint8Array(await whole.arrayBuffer());
  t.is(whole.headers.get('accept-ranges'), 'bytes');
  t.is(whole.headers.get('etag'), `"${sha256(bytes)}"`);
  t.regex(whole.headers.get('access-control-expose-headers') ?? '', /content-range/);
  const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
  t.is(part.status, 206);
  t.is(part.headers.get('content-range'), `bytes 100-199/${weights.byteLength}`);
  t.is(part.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  t.deepEqual(new Uint8Array(await part.arrayBuffer()), bytes.subarray(100, 200));
  const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
  t.deepEqual(new Uint8Array(await tail.arrayBuffer()), bytes.subarray(bytes.length - 10));
  const past = await fetch(url, { headers: { range: `bytes=${weights.byteLength}-` } });
  t.is(past.status, 416);
  t.is(past.headers.get('content-range'), `bytes */${weights.byteLength}`);
  // If-Range with another ETag: the client's partial copy is of other bytes, so all of it comes.
  const stale = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': '"other"' } });
  t.is(stale.status, 200);
  t.is((await stale.arrayBuffer()).byteLength, weights.byteLength);
  t.is((await fetch(url, { headers: { 'if-none-match': whole.headers.get('etag')! } })).status, 304);
  // Quantized shards too.
  const uint8 = await fetch(`${base}/v1/models/m/1/uint8/group1-shard1of1.bin`, { headers: { range: 'bytes=0-3' } });
  t.is(uint8.status, 206);
  t.is((await uint8.arrayBuffer()).byteLength, 4);
});

test.serial('once read, files come from memory: revalidations and repeat downloads send nothing to NATS', async (t) => {
  const { base, fixture } = t.context;
  const latest = await fetch(`${base}/v1/models/m/latest/model.json`);
  const etag = latest.headers.get('etag')!;
  const shard = `${base}/v1/models/m/2/group1-shard1of1.bin`;
  const first = new Uint8Array(await (await fetch(shard)).arrayBuffer());
  const before = fixture.coordinator.nc.stats();
  for (let i = 0; i < 50; i++) {
    t.is((await fetch(`${base}/v1/models/m/latest/model.json`, { headers: { 'if-none-match': etag } })).status, 304);
    t.is((await fetch(`${base}/v1/models/m/latest/model.json`)).status, 200);
    t.deepEqual(new Uint8Array(await (await fetch(shard)).arrayBuffer()), first);
  }
  const after = fixture.coordinator.nc.stats();
  t.is(after.outMsgs - before.outMsgs, 0, 'no request to NATS');
});

test.serial('a version published by another coordinator becomes latest here through the bucket watch', async (t) => {
  const { base, fixture, weights } = t.context;
  const old = await fetch(`${base}/v1/models/m/latest/model.json`);
  const etag = old.headers.get('etag')!;
  await publish(fixture, 'm', 'jobs/c', weights.map((w) => w * 3));
  const deadline = Date.now() + 5000;
  let status = 304;
  while (status === 304 && Date.now() < deadline) {
    const again = await fetch(`${base}/v1/models/m/latest/model.json`, { headers: { 'if-none-match': etag } });
    status = again.status;
    if (status === 200) t.is(again.headers.get('x-syncline-version'), '3');
    await again.arrayBuffer();
  }
  t.is(status, 200);
  const list = await (await fetch(`${base}/v1/models`)).json();
  t.deepEqual(list.models.map((m: { name: string; version: number }) => [m.name, m.version]), [['m', 3]]);
});

test.serial('requests are counted and timed by route and status on /metrics', async (t) => {
  const { base } = t.context;
  const latest = await fetch(`${base}/v1/models/m/latest/model.json`);
  await fetch(`${base}/v1/models/m/latest/model.json`, { headers: { 'if-none-match': latest.headers.get('etag')! } });
  await fetch(`${base}/v1/models/nope/1/model.json`);
  const text = await (await fetch(`${base}/metrics`)).text();
  t.regex(text, /syncline_http_requests_total\{route="model_json_latest",status="304"\} [1-9]/);
  t.regex(text, /syncline_http_requests_total\{route="model_json",status="404"\} [1-9]/);
  t.regex(text, /syncline_http_request_duration_seconds_count\{route="model_json_latest"\} [1-9]/);
});

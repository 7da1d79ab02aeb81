// k6 load test of the coordinator's HTTP model registry, the path every SDK client takes:
// revalidating `latest/model.json` with its ETag (cached clients, answered 304), and cold loads
// (model.json, then every weight shard by version, each checked against its sha256 in model.json,
// and one shard again as a Range request, as a client resuming a download does).
//   k6 run load-tests/registry.js                        (registry on http://127.0.0.1:7080)
//   k6 run -e SYNCLINE_HTTP_URL=http://10.0.0.5:7080 -e SYNCLINE_MODEL=mnist-mlp load-tests/registry.js
// Needs one published model (train one first, see load-tests/README.md). Only SYNCLINE_HTTP_URL
// is contacted: URLs are built from it, never taken from responses. Runs about 2 minutes.
import http from 'k6/http';
import { check } from 'k6';
import crypto from 'k6/crypto';
import exec from 'k6/execution';
import { Rate } from 'k6/metrics';

const BASE = (__ENV.SYNCLINE_HTTP_URL || 'http://127.0.0.1:7080').replace(/\/+$/, '');
// Peak revalidations per second. 1,500 is what one coordinator holds within the thresholds with
// k6 on the same 2 cores (the registry answers revalidations from memory).
const MAX_RATE = Number(__ENV.SYNCLINE_LOAD_RATE || 1500);
const HOLD = __ENV.SYNCLINE_LOAD_HOLD || '1m';
const SHA256_HEX = /^[0-9a-f]{64}$/;

// A shard whose bytes do not hash to the digest model.json promises: must never happen.
const corruptShards = new Rate('corrupt_shards');

export const options = {
  scenarios: {
    revalidate: {
      executor: 'ramping-arrival-rate',
      exec: 'revalidate',
      startRate: 1,
      timeUnit: '1s',
      stages: [
        { duration: '30s', target: MAX_RATE },
        { duration: HOLD, target: MAX_RATE },
        { duration: '15s', target: 0 },
      ],
      preAllocatedVUs: 20,
      maxVUs: 200,
      gracefulStop: '10s',
    },
    cold_load: {
      executor: 'constant-arrival-rate',
      exec: 'coldLoad',
      rate: 5,
      timeUnit: '1s',
      duration: '90s',
      preAllocatedVUs: 5,
      maxVUs: 20,
      gracefulStop: '10s',
    },
  },
  thresholds: {
    'http_req_duration{kind:manifest}': ['p(95)<100'],
    'http_req_duration{kind:revalidate}': ['p(95)<50'],
    'http_req_duration{kind:shard}': ['p(95)<300'],
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '15s' }],
    corrupt_shards: ['rate==0'],
    checks: ['rate>0.99'],
  },
};

function header(res, name) {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(res.headers)) if (key.toLowerCase() === wanted) return res.headers[key];
  return undefined;
}

const modelUrl = (name, version, file) => `${BASE}/v1/models/${encodeURIComponent(name)}/${version}/${file}`;

/** Checks the shape of a model.json: every weight group lists one sha256 per shard path. */
function shardsOf(manifest) {
  const groups = manifest && Array.isArray(manifest.weightsManifest) ? manifest.weightsManifest : [];
  const shards = [];
  for (const g of groups) {
    if (!Array.isArray(g.paths) || !Array.isArray(g.sha256) || g.paths.length !== g.sha256.length) return undefined;
    for (let i = 0; i < g.paths.length; i++) shards.push({ path: g.paths[i], sha256: g.sha256[i] });
  }
  return shards.length > 0 && shards.every((s) => SHA256_HEX.test(s.sha256)) ? shards : undefined;
}

/** Picks the model (SYNCLINE_MODEL, else the first listed) and reads its latest ETag. */
export function setup() {
  const list = http.get(`${BASE}/v1/models`, { tags: { kind: 'setup' } });
  if (list.status !== 200) exec.test.abort(`GET ${BASE}/v1/models answered ${list.status}: is the coordinator up?`);
  const models = list.json('models') || [];
  const name = __ENV.SYNCLINE_MODEL || (models.length > 0 ? models[0].name : undefined);
  if (!name) exec.test.abort('no published model: train one first (load-tests/README.md)');
  const latest = http.get(modelUrl(name, 'latest', 'model.json'), { tags: { kind: 'setup' } });
  if (latest.status !== 200) exec.test.abort(`no latest version of model ${name} (${latest.status})`);
  return { name, etag: header(latest, 'ETag') };
}

/** A client with a cached copy asks whether latest changed: 304 and no body while it has not. */
export function revalidate(data) {
  const res = http.get(modelUrl(data.name, 'latest', 'model.json'), {
    headers: { 'If-None-Match': data.etag },
    tags: { kind: 'revalidate' },
    // A publish during the run makes `latest` answer 200 with the new version: also correct.
    responseCallback: http.expectedStatuses(200, 304),
  });
  check(res, {
    'revalidate: 304 or 200': (r) => r.status === 304 || r.status === 200,
    'revalidate: cache-control no-cache': (r) => header(r, 'Cache-Control') === 'no-cache',
    'revalidate: x-syncline-version is a version': (r) => /^[1-9][0-9]*$/.test(header(r, 'X-Syncline-Version') || ''),
    'revalidate: 304 has no body': (r) => r.status !== 304 || !r.body,
  });
}

/** A new client: latest model.json, the same version by number, then every shard, verified. */
export function coldLoad(data) {
  const latest = http.get(modelUrl(data.name, 'latest', 'model.json'), { tags: { kind: 'manifest' } });
  const version = header(latest, 'X-Syncline-Version');
  const manifest = latest.status === 200 ? latest.json() : undefined;
  const shards = shardsOf(manifest);
  const latestOk = check(latest, {
    'latest model.json: 200': (r) => r.status === 200,
    'latest model.json: cache-control no-cache': (r) => header(r, 'Cache-Control') === 'no-cache',
    'latest model.json: etag': (r) => Boolean(header(r, 'ETag')),
    'latest model.json: x-syncline-version matches the body': () => Boolean(manifest && manifest.syncline) && String(manifest.syncline.version) === version,
    'latest model.json: one sha256 per shard': () => shards !== undefined,
  });
  if (!latestOk || shards === undefined) return;

  const pinned = http.get(modelUrl(data.name, version, 'model.json'), { tags: { kind: 'manifest' } });
  check(pinned, {
    'versioned model.json: 200': (r) => r.status === 200,
    'versioned model.json: immutable': (r) => (header(r, 'Cache-Control') || '').indexOf('immutable') >= 0,
  });

  const responses = http.batch(
    shards.map((s) => ['GET', modelUrl(data.name, version, s.path), null, { responseType: 'binary', tags: { kind: 'shard' } }]),
  );
  responses.forEach((res, i) => {
    const intact = res.status === 200 && crypto.sha256(res.body, 'hex') === shards[i].sha256;
    corruptShards.add(res.status === 200 && !intact);
    check(res, {
      'shard: 200': (r) => r.status === 200,
      'shard: application/octet-stream': (r) => header(r, 'Content-Type') === 'application/octet-stream',
      'shard: immutable': (r) => (header(r, 'Cache-Control') || '').indexOf('immutable') >= 0,
      'shard: x-syncline-version is the version asked for': (r) => header(r, 'X-Syncline-Version') === version,
      'shard: sha256 matches model.json': () => intact,
    });
  });

  // A resumed download: the second half of the first shard, as a Range request.
  const whole = responses[0];
  if (whole.status === 200 && whole.body.byteLength > 1) {
    const from = Math.floor(whole.body.byteLength / 2);
    const part = http.get(modelUrl(data.name, version, shards[0].path), {
      headers: { Range: `bytes=${from}-` },
      responseType: 'binary',
      tags: { kind: 'shard' },
      responseCallback: http.expectedStatuses(206),
    });
    const expected = new Uint8Array(whole.body, from);
    const got = part.status === 206 ? new Uint8Array(part.body) : new Uint8Array(0);
    check(part, {
      'shard range: 206': (r) => r.status === 206,
      'shard range: content-range': (r) => header(r, 'Content-Range') === `bytes ${from}-${whole.body.byteLength - 1}/${whole.body.byteLength}`,
      'shard range: the bytes of that range': () => got.length === expected.length && got.every((b, i) => b === expected[i]),
    });
  }

  // Shards exist only by version, so a publish between two requests cannot mix versions.
  const byLatest = http.get(modelUrl(data.name, 'latest', shards[0].path), {
    tags: { kind: 'negative' },
    responseCallback: http.expectedStatuses(404),
  });
  check(byLatest, { 'shard by latest: 404': (r) => r.status === 404 });
}

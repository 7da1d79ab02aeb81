// Checks what `syncline submit --watch` printed (one JSON line) and the model it published:
// the job succeeded and learned something, and the registry serves model.json and a shard
// whose sha256 matches the digest that model.json promises; the dashboard API refuses anonymous requests.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const [resultFile] = process.argv.slice(2);
const registry = process.env.SYNCLINE_REGISTRY_URL ?? 'http://syncline-coordinator:7080';
const minAccuracy = Number(process.env.SMOKE_MIN_ACCURACY ?? '0.5');
const model = process.env.SMOKE_MODEL_NAME ?? 'syncline-smoke';

function fail(message) {
  console.error(`smoke test FAILED: ${message}`);
  process.exit(1);
}

const lines = (await readFile(resultFile, 'utf8')).trim().split('\n');
const result = JSON.parse(lines.at(-1));
if (result.state !== 'SUCCEEDED') fail(`job ${result.jobId} ended ${result.state}: ${result.error ?? 'no error given'}`);
if (!(result.accuracy >= minAccuracy)) fail(`held-out accuracy ${result.accuracy} is below ${minAccuracy}`);

// Built from the in-cluster address, not from result.model, which carries the public URL.
const latest = await fetch(`${registry}/v1/models/${model}/latest/model.json`);
if (latest.status !== 200) fail(`GET latest model.json answered ${latest.status}`);
const version = latest.headers.get('x-syncline-version');
if (!/^[1-9][0-9]*$/.test(version ?? '')) fail(`x-syncline-version is ${JSON.stringify(version)}`);
const manifest = await latest.json();
const group = manifest.weightsManifest?.[0];
if (!group || !Array.isArray(group.paths) || group.paths.length === 0 || group.sha256?.length !== group.paths.length) {
  fail('model.json has no weight shards with one sha256 each');
}
const shard = await fetch(`${registry}/v1/models/${model}/${version}/${group.paths[0]}`);
if (shard.status !== 200) fail(`GET ${group.paths[0]} answered ${shard.status}`);
const digest = createHash('sha256').update(Buffer.from(await shard.arrayBuffer())).digest('hex');
if (digest !== group.sha256[0]) fail(`${group.paths[0]} has sha256 ${digest}, model.json promises ${group.sha256[0]}`);

// Secure by default: the dashboard's API refuses a request without a token.
const open = await fetch(`${registry}/api/jobs`);
if (open.status !== 401) fail(`GET /api/jobs without a token answered ${open.status}, not 401`);

console.log(`smoke test passed: job ${result.jobId}, accuracy ${result.accuracy.toFixed(3)}, ${model}@${version} served and verified`);

// The real `syncline` command: `up` on free ports, then submit, jobs, models and cancel against
// it, and finally Ctrl-C (SIGINT), after which no process it started may be left.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { childProcesses, eventually, isAlive, jobJson, runCli, spawnCli, type CliProcess } from './helpers/processes.js';

interface Context {
  dir: string;
  up: CliProcess;
  /** What `up` printed when ready. */
  coordinator: string;
  http: string;
  nats: string;
  /** Processes `up` started: worker processes and nats-server. */
  started: { pid: number; command: string }[];
  /** Job files by name. */
  files: Record<string, string>;
}

const test = anyTest as TestFn<Context>;
const READY = /^coordinator=(\S+) http=(\S+) nats=(\S+)\n/m;

test.before(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'syncline-cli-test-'));
  const files: Record<string, string> = {};
  const write = async (name: string, text: string) => {
    files[name] = join(t.context.dir, name);
    await writeFile(files[name], text);
  };
  await write('small.json', JSON.stringify(jobJson('cli-small', { epochs: 1 }), null, 2));
  // Long enough to be cancelled while it runs (1600 steps).
  await write('long.json', JSON.stringify(jobJson('cli-long', { epochs: 100 })));
  const swish = jobJson('cli-swish');
  (swish.model as { layers: { dense: { activation: string } }[] }).layers[0]!.dense.activation = 'swish';
  await write('swish.json', JSON.stringify(swish));
  await write('broken.json', '{"name": "cli-broken", "model": ');
  t.context.files = files;

  t.context.up = spawnCli(['up', '--workers', '2', '--grpc-port', '0', '--http-port', '0']);
  const m = await t.context.up.waitFor('stdout', READY, 60_000);
  [t.context.coordinator, t.context.http, t.context.nats] = [m[1]!, m[2]!, m[3]!];
  t.context.started = (await childProcesses(t.context.up.child.pid!)).filter((p) => /node|nats-server/.test(p.command));
});

test.after.always(async (t) => {
  const { up, started, dir } = t.context;
  if (up && up.child.exitCode === null && up.child.signalCode === null) {
    up.child.kill('SIGINT');
    const timer = setTimeout(() => up.child.kill('SIGKILL'), 10_000);
    await up.exited;
    clearTimeout(timer);
  }
  // Whatever a failed test left behind.
  for (const p of started ?? []) if (isAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

test.serial('up prints one ready line with the ports it bound', async (t) => {
  const { up, coordinator, http, nats } = t.context;
  t.is(up.stdout().split('\n').filter(Boolean).length, 1, up.stdout());
  t.regex(coordinator, /^127\.0\.0\.1:[1-9]\d*$/);
  t.regex(http, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
  t.regex(nats, /^nats:\/\/127\.0\.0\.1:[1-9]\d*$/);
  const health = await fetch(`${http}/healthz`);
  t.deepEqual(await health.json(), { ok: true });
  const commands = t.context.started.map((p) => p.command);
  t.is(commands.filter((c) => c === 'nats-server').length, 1, commands.join(', '));
  t.is(commands.filter((c) => c === 'node').length, 2, commands.join(', '));
});

test.serial('submit --watch exits 0 and prints the final result as JSON; jobs and models list it', async (t) => {
  const { coordinator, files } = t.context;
  const r = await runCli(['submit', files['small.json']!, '--watch', '--coordinator', coordinator]);
  t.is(r.code, 0, r.stderr);
  const last = r.stdout.trim().split('\n').at(-1)!;
  const result = JSON.parse(last) as { jobId: string; state: string; accuracy: unknown; loss: unknown; steps: number; model: string };
  t.regex(result.jobId, /^job-/);
  t.is(result.state, 'SUCCEEDED');
  t.is(typeof result.accuracy, 'number');
  t.is(typeof result.loss, 'number');
  t.is(result.steps, 16);
  t.regex(r.stderr, new RegExp(`submitted ${result.jobId}`));

  const jobs = await runCli(['jobs', '--coordinator', coordinator]);
  t.is(jobs.code, 0, jobs.stderr);
  const line = jobs.stdout.split('\n').find((l) => l.startsWith(result.jobId));
  t.truthy(line, jobs.stdout);
  t.regex(line!, /cli-small\s+SUCCEEDED\s+step 16\/16 accuracy=0\.\d{4}/);

  const models = await runCli(['models', '--coordinator', coordinator]);
  t.is(models.code, 0, models.stderr);
  const modelLines = models.stdout.trim().split('\n');
  t.is(modelLines.length, 1, models.stdout);
  const url = `${t.context.http}/v1/models/cli-small/1/model.json`;
  t.is(result.model, url);
  t.true(modelLines[0]!.includes(url), modelLines[0]);
  const res = await fetch(url);
  t.is(res.status, 200);
  const json = (await res.json()) as { format?: string; modelTopology?: { class_name?: string }; weightsManifest?: { paths: string[] }[] };
  t.is(json.format, 'layers-model');
  t.is(json.modelTopology?.class_name, 'Sequential');
  t.true((json.weightsManifest?.[0]?.paths.length ?? 0) > 0);
});

test.serial('submit of an invalid job file exits non-zero naming the field', async (t) => {
  const r = await runCli(['submit', t.context.files['swish.json']!, '--coordinator', t.context.coordinator]);
  t.not(r.code, 0);
  t.regex(r.stderr, /model\.layers\[0\]\.dense\.activation/);
  t.regex(r.stderr, /swish/);
  t.is(r.stdout, '');
});

test.serial('submit of a file that is not JSON, or not there, exits non-zero naming the file', async (t) => {
  const broken = t.context.files['broken.json']!;
  const r = await runCli(['submit', broken, '--coordinator', t.context.coordinator]);
  t.not(r.code, 0);
  t.true(r.stderr.includes(broken), r.stderr);
  t.regex(r.stderr, /not valid JSON/);

  const missing = join(t.context.dir, 'missing.json');
  const m = await runCli(['submit', missing, '--coordinator', t.context.coordinator]);
  t.not(m.code, 0);
  t.true(m.stderr.includes(missing), m.stderr);
});

test.serial('cancel ends a running job CANCELLED and submit --watch on it exits 1', async (t) => {
  const { coordinator, files } = t.context;
  const watch = spawnCli(['submit', files['long.json']!, '--watch', '--coordinator', coordinator]);
  const timer = setTimeout(() => watch.child.kill('SIGKILL'), 30_000);
  try {
    const jobId = (await watch.waitFor('stderr', /submitted (job-[0-9a-f]{8}) /, 20_000))[1]!;
    // Cancel once it is training, not merely scheduled.
    await watch.waitFor('stderr', /^step \d+\/1600/m, 20_000);
    const c = await runCli(['cancel', jobId, '--coordinator', coordinator]);
    t.is(c.code, 0, c.stderr);
    t.regex(c.stdout, new RegExp(`^${jobId}\\s+CANCELLED$`, 'm'));

    t.is(await watch.exited, 1, watch.stderr());
    const result = JSON.parse(watch.stdout().trim().split('\n').at(-1)!) as { jobId: string; state: string; error?: string };
    t.is(result.jobId, jobId);
    t.is(result.state, 'CANCELLED');
    t.regex(result.error ?? '', /cancelled/);

    const again = await runCli(['cancel', jobId, '--coordinator', coordinator]);
    t.not(again.code, 0);
    t.regex(again.stderr, /already CANCELLED/);
    const unknown = await runCli(['cancel', 'job-nope', '--coordinator', coordinator]);
    t.not(unknown.code, 0);
    t.regex(unknown.stderr, /job-nope.*not found/);

    const jobs = await runCli(['jobs', '--coordinator', coordinator]);
    t.regex(jobs.stdout, new RegExp(`^${jobId}\\s+cli-long\\s+CANCELLED`, 'm'));
  } finally {
    clearTimeout(timer);
  }
});

test.serial('SIGINT while up is still starting stops what it started', async (t) => {
  const early = spawnCli(['up', '--workers', '2', '--grpc-port', '0', '--http-port', '0']);
  let started: { pid: number; command: string }[] = [];
  try {
    await early.waitFor('stderr', /nats-server ready/, 30_000);
    // Interrupt once nats-server and both worker processes exist, before the workers have joined.
    await eventually(
      'nats-server and two workers',
      async () => {
        started = (await childProcesses(early.child.pid!)).filter((p) => /node|nats-server/.test(p.command));
        return started.length === 3;
      },
      10_000,
    );
    early.child.kill('SIGINT');
    t.is(await early.exited, 0, early.stderr());
    t.false(READY.test(early.stdout()), 'not reported ready');
    await eventually('the processes up started to exit', () => started.every((p) => !isAlive(p.pid)), 10_000);
    t.pass();
  } finally {
    if (early.child.exitCode === null) early.child.kill('SIGKILL');
    for (const p of started) if (isAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
  }
});

test.serial('SIGINT stops the cluster: the worker processes and nats-server are gone', async (t) => {
  const { up, started } = t.context;
  t.true(started.every((p) => isAlive(p.pid)));
  up.child.kill('SIGINT');
  t.is(await up.exited, 0, up.stderr());
  await eventually('the processes up started to exit', () => started.every((p) => !isAlive(p.pid)), 10_000);
  t.pass();
});

// The real `syncline` command: `up` on free ports, then submit, jobs, models and cancel against
// it, and finally Ctrl-C (SIGINT), after which no process it started may be left.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { childProcesses, eventually, isAlive, jobJson, runCli, spawnCli, testHome, type CliProcess } from './helpers/processes.js';

interface Context {
  dir: string;
  up: CliProcess;
  /** What `up` printed when ready. */
  coordinator: string;
  config: string;
  http: string;
  nats: string;
  /** Processes `up` started: worker processes and nats-server. */
  started: { pid: number; command: string }[];
  /** Job files by name. */
  files: Record<string, string>;
}

const test = anyTest as TestFn<Context>;
const READY = /^coordinator=(\S+) http=(\S+) nats=(\S+) config=(\S+)\n/m;

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
  const typo = jobJson('cli-typo');
  (typo.dataset as { name: string }).name = 'mnistx';
  await write('typo.json', JSON.stringify(typo, null, 2));
  // An uploaded dataset of 2-D points in 3 classes, and a job whose output does not fit it.
  const rows = ['x,y,label', ...Array.from({ length: 60 }, (_, i) => `${(i % 7) / 7},${(i % 5) / 5},${i % 3}`)];
  await write('points.csv', `${rows.join('\n')}\n`);
  await write(
    'points.yaml',
    [
      'name: cli-points',
      'model:',
      '  layers:',
      '    - dense: { units: 8, activation: relu }',
      '    - dense: { units: 10, activation: softmax }',
      '  loss: categoricalCrossentropy',
      '  optimizer: { sgd: { learningRate: 0.1 } }',
      'dataset: { name: cli-points }',
      'training: { epochs: 1, globalBatchSize: 8 }',
      'workers: { min: 1 }',
      '',
    ].join('\n'),
  );
  t.context.files = files;

  t.context.up = spawnCli(['up', '--workers', '2', '--grpc-port', '0', '--http-port', '0']);
  const m = await t.context.up.waitFor('stdout', READY, 60_000);
  [t.context.coordinator, t.context.http, t.context.nats, t.context.config] = [m[1]!, m[2]!, m[3]!, m[4]!];
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

test.serial('up makes the secrets once and writes the client config that every command then reads', async (t) => {
  const { up, coordinator, http, config } = t.context;
  t.is(config, join(testHome.config, 'syncline', 'config.json'), 'the default path');
  const written = JSON.parse(await readFile(config, 'utf8')) as { coordinator: string; http: string; token: string };
  t.deepEqual(Object.keys(written).sort(), ['coordinator', 'http', 'token']);
  t.is(written.coordinator, coordinator);
  t.is(written.http, http);
  t.is((await stat(config)).mode & 0o777, 0o600, 'readable by its owner only');
  const secrets = join(testHome.state, 'syncline', 'secrets.json');
  t.is((await stat(secrets)).mode & 0o777, 0o600);
  t.is((JSON.parse(await readFile(secrets, 'utf8')) as { adminToken: string }).adminToken, written.token);
  t.regex(up.stderr(), /created the cluster's secrets \(admin token, worker token\)/);
  // No flags at all: the coordinator and token come from the config file.
  const jobs = await runCli(['jobs']);
  t.is(jobs.code, 0, jobs.stderr);
  // No credential anywhere: a plain refusal, exit 6.
  const elsewhere = await runCli(['jobs', '--coordinator', coordinator], 30_000, { XDG_CONFIG_HOME: join(testHome.config, 'none') });
  t.is(elsewhere.code, 6, elsewhere.stderr);
  t.regex(elsewhere.stderr, /^syncline: not authenticated: no credential: .* \(used no token \(run `syncline up`, or set SYNCLINE_TOKEN or --config\)\)$/m);
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

test.serial('tokens: an admin creates, lists and revokes them; a user token sees only its own jobs; a revoked one exits 6', async (t) => {
  const { coordinator, dir, config } = t.context;
  const file = join(dir, 'ci.json');
  // 3 workers where there are 2: it waits (PENDING) until cancelled.
  await writeFile(file, JSON.stringify(jobJson('cli-ci', { epochs: 1 }, 3)));
  const created = await runCli(['token', 'create', '--role', 'user', '--name', 'ci']);
  t.is(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  t.regex(token, /^syncline_\S{43}$/);
  t.regex(created.stderr, /the token is shown this once/);
  const list = await runCli(['token', 'list']);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /^[0-9a-f]{16}  ci  user  created \S+ by admin  valid$/m);
  t.false(list.stdout.includes(token), 'never listed');
  const asCi = { SYNCLINE_TOKEN: token };
  const submitted = await runCli(['submit', file, '--coordinator', coordinator], 30_000, asCi);
  t.is(submitted.code, 0, submitted.stderr);
  const jobId = submitted.stdout.trim();
  const mine = await runCli(['jobs'], 30_000, asCi);
  t.deepEqual(mine.stdout.trim().split('\n').map((l) => l.split('  ')[0]), [jobId], 'only its own job');
  const all = await runCli(['jobs', '--config', config]);
  t.true(all.stdout.trim().split('\n').length > 1, 'the admin sees every job');
  const tooSmall = await runCli(['token', 'list'], 30_000, asCi);
  t.is(tooSmall.code, 6);
  t.regex(tooSmall.stderr, /^syncline: not allowed: listTokens needs an admin token; the token "ci" is a user token$/m);
  t.is((await runCli(['cancel', jobId], 30_000, asCi)).code, 0);
  const deleted = await runCli(['delete', 'job', jobId], 30_000, asCi);
  t.is(deleted.code, 0, deleted.stderr);
  t.is(deleted.stdout.trim(), `deleted job ${jobId}`);
  const revoked = await runCli(['token', 'revoke', 'ci']);
  t.is(revoked.code, 0, revoked.stderr);
  t.regex(revoked.stdout, /ci  user .* revoked /);
  const after = await runCli(['jobs'], 30_000, asCi);
  t.is(after.code, 6);
  t.regex(after.stderr, /not authenticated: the token "ci" was revoked at .* \(used the token in SYNCLINE_TOKEN\)/);
});

test.serial("the HTTP port given as the coordinator: exit 4, saying it is no gRPC server", async (t) => {
  const http = new URL(t.context.http).host;
  const r = await runCli(['jobs', '--coordinator', http]);
  t.is(r.code, 4, r.stderr);
  t.regex(r.stderr, new RegExp(`^syncline: cannot reach the coordinator at ${http} \\(no gRPC connection: it accepts connections but does not speak gRPC\\): start a local cluster`));
});

test.serial('submit of a job the coordinator refuses exits 3 naming the field and where it is in the file', async (t) => {
  const swish = t.context.files['swish.json']!;
  const r = await runCli(['submit', swish, '--coordinator', t.context.coordinator]);
  t.is(r.code, 3, r.stderr);
  t.is(
    r.stderr,
    `syncline: ${swish} is not a valid job file (1 problem):\n  model.layers[0].dense.activation: unknown activation "swish"; expected one of: sigmoid, relu, tanh, softmax, linear, leakyRelu, elu (at 1:74)\n`,
  );
  t.is(r.stdout, '');
});

test.serial('submit of a file that is not JSON, or not there, exits 3 naming the file and the line:column', async (t) => {
  const broken = t.context.files['broken.json']!;
  const r = await runCli(['submit', broken, '--coordinator', t.context.coordinator]);
  t.is(r.code, 3);
  t.is(r.stderr, `syncline: ${broken} is not a valid job file (1 problem):\n  1:33: JSON syntax: expected a value, found the end of the file\n`);

  const missing = join(t.context.dir, 'missing.json');
  const m = await runCli(['submit', missing, '--coordinator', t.context.coordinator]);
  t.is(m.code, 3);
  t.true(m.stderr.includes(missing), m.stderr);
});

test.serial('validate asks the coordinator: steps for a good file, the closest dataset for a typo; nothing is stored', async (t) => {
  const { coordinator, files } = t.context;
  const before = (await runCli(['jobs', '--coordinator', coordinator])).stdout;
  const r = await runCli(['validate', files['small.json']!, files['typo.json']!, '--coordinator', coordinator]);
  t.is(r.code, 3, r.stderr);
  t.is(r.stdout, `${files['small.json']}: valid, 16 steps (checked by the coordinator at ${coordinator})\n`);
  t.regex(r.stderr, /^ {2}dataset\.name: unknown dataset "mnistx"; expected one of: .* \(did you mean mnist\?\).*, or the name of an uploaded dataset \(at 27:13\)$/m);

  const dry = await runCli(['submit', '--dry-run', files['small.json']!, '--coordinator', coordinator]);
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stderr, /^dry run: .*small\.json is valid; it would run 16 steps on 2 workers; nothing was submitted$/m);
  // The job as it would run, defaults filled in, as a job file.
  const spec = JSON.parse(dry.stdout) as { name: string; communication: { algorithm: string }; training: { checkpointEverySteps: number } };
  t.is(spec.name, 'cli-small');
  t.is(spec.communication.algorithm, 'auto');
  t.is(spec.training.checkpointEverySteps, 100);
  t.is((await runCli(['jobs', '--coordinator', coordinator])).stdout, before);
});

test.serial('validate checks a job against an uploaded dataset only with the coordinator, and places the refusal in the YAML file', async (t) => {
  const { coordinator, files } = t.context;
  const up = await runCli(['upload', files['points.csv']!, '--name', 'cli-points', '--classes', '3', '--coordinator', coordinator]);
  t.is(up.code, 0, up.stderr);
  const offline = await runCli(['validate', '--offline', files['points.yaml']!]);
  t.is(offline.code, 0, offline.stderr);
  t.regex(offline.stdout, /valid \(checked locally; dataset "cli-points" is not built in: the model's shapes against an uploaded dataset are checked by the coordinator\)/);
  const r = await runCli(['validate', files['points.yaml']!, '--coordinator', coordinator]);
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /^ {2}model\.layers\[1\]\.dense\.units: the model must output one unit per class of dataset "cli-points" \(3\); its output shape is \[10\] \(at 5:23\)$/m);
  const again = await runCli(['upload', files['points.csv']!, '--name', 'cli-points', '--classes', '3', '--coordinator', coordinator]);
  t.is(again.code, 5, again.stderr);
  t.regex(again.stderr, /already exists/);
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
    t.is(again.code, 5);
    t.regex(again.stderr, /already CANCELLED/);
    const unknown = await runCli(['cancel', 'job-nope', '--coordinator', coordinator]);
    t.is(unknown.code, 5);
    t.regex(unknown.stderr, /job-nope.*not found/);

    const jobs = await runCli(['jobs', '--coordinator', coordinator]);
    t.regex(jobs.stdout, new RegExp(`^${jobId}\\s+cli-long\\s+CANCELLED`, 'm'));
  } finally {
    clearTimeout(timer);
  }
});

test.serial("third-party noise (TF.js's install-tfjs-node banner) does not reach the terminal", async (t) => {
  // By now both workers have trained jobs: the banner would have come with their first tensor.
  const output = t.context.up.stdout() + t.context.up.stderr();
  t.regex(output, /joined/);
  t.notRegex(output, /tfjs-node|looks like you are running TensorFlow\.js/i);
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

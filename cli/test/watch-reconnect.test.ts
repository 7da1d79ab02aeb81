// `submit --watch` outlives a coordinator restart: jobs do (their state is in NATS), so the watch
// says once that it lost the coordinator, reconnects, and ends with the job's real result.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { generateSecrets, startCoordinator, type Coordinator } from '@syncline/coordinator';
import { startNatsServer, type NatsServer } from '../src/nats-server.js';
import { jobJson, spawnCli, spawnWorker } from './helpers/processes.js';

// Arrays made before the tests: a test's own assignments to t.context do not reach the after hook.
const test = anyTest as TestFn<{ dir: string; nats: NatsServer; coordinators: Coordinator[]; workers: ChildProcess[] }>;

test.before(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'syncline-reconnect-'));
  t.context.coordinators = [];
  t.context.workers = [];
  t.context.nats = await startNatsServer();
});
test.after.always(async (t) => {
  for (const worker of t.context.workers ?? []) {
    if (worker.exitCode !== null || worker.signalCode !== null) continue;
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGKILL');
    await exited;
  }
  for (const c of t.context.coordinators ?? []) await c.stop();
  await t.context.nats?.stop();
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
});

test('submit --watch reconnects to a restarted coordinator and reports the job that finished', async (t) => {
  const { dir, nats, coordinators } = t.context;
  const secrets = generateSecrets();
  const first = await startCoordinator({ natsUrl: nats.url, natsAccountKey: nats.accountKey, secrets });
  coordinators.push(first);
  t.context.workers.push(spawnWorker(first.grpcAddress, 'reconnect-0', secrets.workerToken));
  const file = join(dir, 'job.json');
  // 1 worker, 4 epochs of 16 steps: still running when the coordinator goes.
  await writeFile(file, JSON.stringify(jobJson('reconnect', { epochs: 4 }, 1)));
  const watch = spawnCli(['submit', file, '--watch', '--coordinator', first.grpcAddress], { SYNCLINE_TOKEN: secrets.adminToken });
  const timer = setTimeout(() => watch.child.kill('SIGKILL'), 150_000);
  try {
    await watch.waitFor('stderr', /^step \d+\/64/m, 60_000);
    await coordinators.pop()!.stop();
    const port = Number(first.grpcAddress.split(':').pop());
    coordinators.push(await startCoordinator({ natsUrl: nats.url, natsAccountKey: nats.accountKey, secrets, grpcPort: port }));
    t.is(await watch.exited, 0, watch.stderr());
    t.regex(watch.stderr(), new RegExp(`^lost the coordinator at ${first.grpcAddress} \\(.+\\); reconnecting for up to 60 s \\(the job goes on\\)$`, 'm'));
    const result = JSON.parse(watch.stdout().trim().split('\n').at(-1)!) as { state: string; steps: number };
    t.is(result.state, 'SUCCEEDED');
    t.is(result.steps, 64);
  } finally {
    clearTimeout(timer);
  }
});

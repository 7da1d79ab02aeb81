// A coordinator restarted on the same NATS rebuilds its view from the key-value bucket: a job
// that was running is requeued and, once the worker processes have re-joined, runs to the end;
// finished jobs stay listed and their models stay served. Jobs waiting for workers start as the
// workers join.
import type { ChildProcess } from 'node:child_process';
import anyTest, { type TestFn } from 'ava';
import { generateSecrets, startCoordinator, type Coordinator } from '@syncline/coordinator';
import { JobSpec, JobState } from '@syncline/proto';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';
import { startNatsServer, type NatsServer } from '../src/nats-server.js';
import { submitAndRun, within } from './helpers/jobs.js';
import { eventually, jobJson, spawnWorker } from './helpers/processes.js';

const test = anyTest as TestFn<{ cluster: LocalCluster; coordinators: Coordinator[]; logs: string[]; workers: ChildProcess[]; nats: NatsServer[] }>;

test.before(async (t) => {
  const logs: string[] = [];
  t.context.logs = logs;
  t.context.coordinators = [];
  t.context.workers = [];
  t.context.nats = [];
  t.context.cluster = await startLocalCluster({ workers: 2, log: (l) => logs.push(l) });
});
test.after.always(async (t) => {
  await Promise.all(
    (t.context.workers ?? []).map(async (w) => {
      if (w.exitCode !== null || w.signalCode !== null) return;
      const exited = new Promise((r) => w.once('exit', r));
      w.kill('SIGKILL');
      await exited;
    }),
  );
  for (const c of t.context.coordinators ?? []) await c.stop();
  await t.context.cluster?.stop();
  for (const n of t.context.nats ?? []) await n.stop();
});

const port = (address: string) => Number(new URL(address.includes('://') ? address : `grpc://${address}`).port);

test.serial('a running job is requeued by a restarted coordinator and succeeds once the workers re-join', async (t) => {
  const { cluster, coordinators, logs } = t.context;
  const first = cluster.coordinator;
  const log = (l: string) => logs.push(`(restarted) ${l}`);
  const { secrets } = cluster;
  const token = { token: secrets.adminToken };
  let client = new SynclineClient(first.grpcAddress, token);
  try {
    const before = await client.submit(JobSpec.fromJSON(jobJson('before-restart', { epochs: 1 })));
    const done = await within(30_000, 'the first job', client.watch(before.id));
    t.is(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);

    // 6 epochs of 16 steps: still running a few steps in.
    const { job, final } = await submitAndRun(client, JobSpec.fromJSON(jobJson('across-restart', { epochs: 6 })));
    final.catch(() => undefined); // The watch ends with the coordinator that serves it.
    t.is(job.state, JobState.JOB_STATE_RUNNING);
    t.is(job.generation, 1);
    await first.stop();
    client.close();

    // A coordinator the workers cannot find (another port): the job waits, PENDING, with no workers.
    const interim = await startCoordinator({ natsUrl: cluster.natsUrl, natsAccountKey: cluster.natsAccountKey, secrets, log });
    coordinators.push(interim);
    client = new SynclineClient(interim.grpcAddress, token);
    const requeued = await client.get(job.id);
    t.is(requeued.state, JobState.JOB_STATE_PENDING);
    t.deepEqual(requeued.workers, []);
    t.regex(requeued.error, /coordinator restarted during generation 1/);
    t.is((await client.get(before.id)).state, JobState.JOB_STATE_SUCCEEDED);
    await interim.stop();
    client.close();

    // The coordinator back where the workers look for it.
    const restarted = await startCoordinator({
      natsUrl: cluster.natsUrl,
      secrets,
      natsAccountKey: cluster.natsAccountKey,
      grpcPort: port(first.grpcAddress),
      httpPort: port(first.httpUrl),
      log,
    });
    coordinators.push(restarted);
    t.is(restarted.grpcAddress, first.grpcAddress);
    client = new SynclineClient(restarted.grpcAddress, token);
    await eventually('both workers re-joining', () => restarted.workerCount() === 2, 20_000);
    const after = await within(30_000, 'the requeued job', client.watch(job.id));
    t.is(after.state, JobState.JOB_STATE_SUCCEEDED, after.error || logs.join('\n'));
    t.is(after.generation, 2);
    t.is(after.error, '');
    t.is(after.result?.steps, 96);

    // What finished before the restart is still listed, and its model still served.
    const jobs = await client.list();
    t.deepEqual(
      jobs.map((j) => [j.id, j.state]),
      [
        [before.id, JobState.JOB_STATE_SUCCEEDED],
        [job.id, JobState.JOB_STATE_SUCCEEDED],
      ],
    );
    const models = await client.models();
    t.deepEqual(models.map((m) => [m.ref?.name, m.ref?.version, m.jobId]), [
      ['across-restart', 1, job.id],
      ['before-restart', 1, before.id],
    ]);
    const url = done.model!.url;
    t.is(models.find((m) => m.ref?.name === 'before-restart')?.ref?.url, url);
    const res = await fetch(url);
    t.is(res.status, 200);
    t.is(((await res.json()) as { format?: string }).format, 'layers-model');
  } finally {
    client.close();
  }
});

test.serial('a job waiting for workers starts as they join, though their NATS connection comes after the welcome', async (t) => {
  // Its own NATS server and coordinator, so that the local cluster's workers cannot take the job.
  const nats = await startNatsServer();
  t.context.nats.push(nats);
  const secrets = generateSecrets();
  const coordinator = await startCoordinator({ natsUrl: nats.url, natsAccountKey: nats.accountKey, secrets, allreduceTimeoutSeconds: 5 });
  t.context.coordinators.push(coordinator);
  const client = new SynclineClient(coordinator.grpcAddress, { token: secrets.adminToken });
  try {
    const job = await client.submit(JobSpec.fromJSON(jobJson('waiting', { epochs: 1 })));
    t.is(job.state, JobState.JOB_STATE_PENDING);
    // The second worker to join is assigned the job in the same moment it is welcomed.
    t.context.workers.push(spawnWorker(coordinator.grpcAddress, 'waiting-0', secrets.workerToken), spawnWorker(coordinator.grpcAddress, 'waiting-1', secrets.workerToken));
    const done = await within(30_000, 'the waiting job', client.watch(job.id));
    t.is(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
    t.is(done.generation, 1);
  } finally {
    client.close();
  }
});

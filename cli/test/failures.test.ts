// Failure paths through real parts (a nats-server, the coordinator, two worker processes):
// cancelling, unknown and finished jobs, workers that hang or die in the middle of a job, and a
// rank whose all-reduce times out.
import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { JobSpec, JobState, type Job, type WatchJobResponse } from '@syncline/proto';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';
import { grpcError, submitAndRun, watchUntil, within } from './helpers/jobs.js';
import { jobJson } from './helpers/processes.js';

const test = anyTest as TestFn<{ cluster: LocalCluster; client: SynclineClient; logs: string[]; others: LocalCluster[] }>;

// Small, so that a lost worker is noticed within seconds, yet above the longest pause of a worker's
// event loop on a busy machine (loading MNIST for its first job takes about 0.4 s on an idle one).
// The all-reduce timeout is the longer one, so that a hung worker is always caught by heartbeats.
const HEARTBEAT_TIMEOUT_MS = 3000;
const ALLREDUCE_TIMEOUT_S = 6;
const DETECTION_BOUND_MS = HEARTBEAT_TIMEOUT_MS + ALLREDUCE_TIMEOUT_S * 1000 + 5000;

test.before(async (t) => {
  const logs: string[] = [];
  t.context.logs = logs;
  t.context.cluster = await startLocalCluster({
    workers: 2,
    timeouts: { heartbeatIntervalMs: 200, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, allreduceTimeoutSeconds: ALLREDUCE_TIMEOUT_S },
    log: (l) => logs.push(l),
  });
  t.context.client = new SynclineClient(t.context.cluster.coordinator.grpcAddress, { token: t.context.cluster.secrets.adminToken });
  t.context.others = [];
});
test.after.always(async (t) => {
  const clusters = [t.context.cluster, ...(t.context.others ?? [])].filter((c) => c !== undefined);
  for (const w of clusters.flatMap((c) => c.workers)) w.kill('SIGCONT');
  t.context.client?.close();
  await Promise.all(clusters.map((c) => c.stop()));
});

const spec = (name: string, epochs: number, workers = 2) => JobSpec.fromJSON(jobJson(name, { epochs }, workers));
/** Long enough (1600 steps) to be interrupted while it runs. */
const longJob = (name: string) => spec(name, 100);

/** The worker process that runs under `workerId` (the local cluster names them local-<index>). */
function processOf(cluster: LocalCluster, workerId: string) {
  const m = /^local-(\d+)$/.exec(workerId);
  const child = m ? cluster.workers[Number(m[1])] : undefined;
  if (!child) throw new Error(`no local worker process runs ${workerId}`);
  return child;
}

async function publishedNames(cluster: LocalCluster, client: SynclineClient): Promise<{ grpc: string[]; http: string[] }> {
  const res = await fetch(`${cluster.coordinator.httpUrl}/v1/models`);
  const body = (await res.json()) as { models: { name: string }[] };
  return { grpc: (await client.models()).map((m) => m.ref!.name), http: body.models.map((m) => m.name) };
}

test.serial('cancelling a running job frees its workers: the next job runs on them at once', async (t) => {
  const { client } = t.context;
  const { job, final } = await submitAndRun(client, longJob('cancel-me'));
  t.is(job.state, JobState.JOB_STATE_RUNNING);
  t.is(job.workers.length, 2);

  const cancelled = await client.cancel(job.id);
  t.is(cancelled.state, JobState.JOB_STATE_CANCELLED);
  const ended = await within(5000, 'WatchJob ending', final);
  t.is(ended.state, JobState.JOB_STATE_CANCELLED);
  t.regex(ended.error, /cancelled by user/);

  const next = await client.submit(spec('after-cancel', 1));
  t.is(next.state, JobState.JOB_STATE_RUNNING, 'scheduled at once on the freed workers');
  t.deepEqual([...next.workers].sort(), [...job.workers].sort());
  const done = await within(30_000, 'the next job', client.watch(next.id));
  t.is(done.state, JobState.JOB_STATE_SUCCEEDED, done.error || t.context.logs.join('\n'));
  // Nothing from the cancelled job was published; its record stays CANCELLED.
  t.deepEqual((await publishedNames(t.context.cluster, client)).grpc, ['after-cancel']);
  t.is((await client.get(job.id)).state, JobState.JOB_STATE_CANCELLED);
});

test.serial('cancelling a finished job is FAILED_PRECONDITION; unknown ids are NOT_FOUND, empty ones INVALID_ARGUMENT', async (t) => {
  const { client } = t.context;
  const finished = (await client.list()).find((j) => j.state === JobState.JOB_STATE_SUCCEEDED);
  t.truthy(finished);
  const again = await grpcError(client.cancel(finished!.id));
  t.is(again.code, status.FAILED_PRECONDITION);
  t.regex(again.details, /already SUCCEEDED/);
  t.is((await client.get(finished!.id)).state, JobState.JOB_STATE_SUCCEEDED);

  for (const [what, call] of [
    ['GetJob', client.get('job-unknown')],
    ['CancelJob', client.cancel('job-unknown')],
    ['WatchJob', client.watch('job-unknown')],
  ] as const) {
    const err = await grpcError(call);
    t.is(err.code, status.NOT_FOUND, `${what}: ${err.message}`);
    t.regex(err.details, /job-unknown/);
  }
  for (const call of [client.get(''), client.cancel(''), client.watch('')]) {
    t.is((await grpcError(call)).code, status.INVALID_ARGUMENT);
  }
});

test.serial('WatchJob of a finished job sends the final job once and ends', async (t) => {
  const { client } = t.context;
  const finished = (await client.list()).find((j) => j.state === JobState.JOB_STATE_SUCCEEDED)!;
  const events = await within(
    5000,
    'WatchJob of a finished job',
    new Promise<WatchJobResponse[]>((resolve, reject) => {
      const got: WatchJobResponse[] = [];
      const stream = client.raw.watchJob({ jobId: finished.id });
      stream.on('data', (e: WatchJobResponse) => got.push(e));
      stream.on('error', reject);
      stream.on('end', () => resolve(got));
    }),
  );
  t.is(events.length, 1);
  const e = events[0]?.event;
  t.is(e?.$case, 'job');
  if (e?.$case === 'job') t.deepEqual(e.value, finished);
});

// A worker lost from a job of two that needs two: the job cannot go on, so it waits (PENDING) for a
// second worker, its error naming the lost one, and the survivor is set free. (Elastic membership:
// with enough workers left it would continue in a new generation instead; see elastic.test.ts.)
const leftRunning = (job: Job) => (j: Job) => j.state !== JobState.JOB_STATE_RUNNING || j.generation !== job.generation;

test.serial('a worker that stops heartbeating is dropped: its job waits naming it, and resumes when the worker is back', async (t) => {
  const { client, cluster } = t.context;
  // 96 steps: a few seconds of training.
  const { job, final } = await submitAndRun(client, spec('hung-worker', 6));
  t.is(job.state, JobState.JOB_STATE_RUNNING, job.error);
  const hungId = job.workers[1]!;
  const hung = processOf(cluster, hungId);
  const started = Date.now();
  hung.kill('SIGSTOP');
  try {
    const waiting = await within(DETECTION_BOUND_MS, 'the job leaving RUNNING', watchUntil(client, job.id, leftRunning(job)));
    t.log(`after ${Date.now() - started} ms: ${JobState[waiting.state]}: ${waiting.error}`);
    t.is(waiting.state, JobState.JOB_STATE_PENDING);
    t.true(waiting.error.includes(`worker ${hungId} was lost`), waiting.error);
    t.regex(waiting.error, /no heartbeat/);
    t.deepEqual(waiting.workers, []);
    t.is(cluster.coordinator.workerCount(), 1);
  } finally {
    hung.kill('SIGCONT');
  }
  // The resumed process finds its stream closed and joins again under its own id; the job goes on.
  const done = await within(30_000, 'the job resuming and finishing', final);
  t.is(done.state, JobState.JOB_STATE_SUCCEEDED, done.error || t.context.logs.join('\n'));
  t.true(done.generation > job.generation);
  t.deepEqual([...done.workers].sort(), [...job.workers].sort());
  t.deepEqual(
    (await client.models()).filter((m) => m.ref?.name === 'hung-worker').map((m) => m.ref?.version),
    [1],
  );
});

test.serial('a worker killed mid-job: its job waits naming it, nothing is published, and the survivor runs the next job', async (t) => {
  const { client, cluster } = t.context;
  const { job, final } = await submitAndRun(client, longJob('lost-worker'));
  final.catch(() => undefined); // Ends only when the cluster stops.
  t.is(job.state, JobState.JOB_STATE_RUNNING, job.error);
  // Kill rank 1, so that the survivor is rank 0: the one that would publish.
  const [survivorId, lostId] = [job.workers[0]!, job.workers[1]!];
  const lost = processOf(cluster, lostId);
  const exited = new Promise((r) => lost.once('exit', r));
  lost.kill('SIGKILL');
  await exited;

  const waiting = await within(DETECTION_BOUND_MS, 'the job leaving RUNNING', watchUntil(client, job.id, leftRunning(job)));
  t.is(waiting.state, JobState.JOB_STATE_PENDING);
  t.true(waiting.error.includes(`worker ${lostId} was lost`), waiting.error);
  t.regex(waiting.error, /waiting for 2 workers/);
  t.is(waiting.model, undefined);
  t.is(cluster.coordinator.workerCount(), 1);

  const next = await client.submit(spec('survivor', 1, 1));
  t.is(next.state, JobState.JOB_STATE_RUNNING, 'the survivor is idle');
  t.deepEqual(next.workers, [survivorId]);
  const done = await within(30_000, 'the next job', client.watch(next.id));
  t.is(done.state, JobState.JOB_STATE_SUCCEEDED, done.error || t.context.logs.join('\n'));

  // The survivor has left the interrupted job behind (it ran the next one): nothing of it was published.
  const names = await publishedNames(cluster, client);
  t.false(names.grpc.includes('lost-worker'), names.grpc.join(', '));
  t.false(names.http.includes('lost-worker'), names.http.join(', '));
  t.is((await fetch(`${cluster.coordinator.httpUrl}/v1/models/lost-worker/latest/model.json`)).status, 404);
  t.is((await client.get(job.id)).state, JobState.JOB_STATE_PENDING);
  t.is((await client.cancel(job.id)).state, JobState.JOB_STATE_CANCELLED);
});

test.serial('a rank whose all-reduce times out fails the job, and the error says which worker each rank is', async (t) => {
  // Heartbeats would notice the hung worker only after a minute: the survivor's all-reduce timeout comes first.
  const cluster = await startLocalCluster({ workers: 2, timeouts: { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 60_000, allreduceTimeoutSeconds: 3 } });
  t.context.others.push(cluster);
  const client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
  try {
    const { job, final } = await submitAndRun(client, longJob('allreduce-timeout'));
    t.is(job.state, JobState.JOB_STATE_RUNNING, job.error);
    const [survivorId, hungId] = [job.workers[0]!, job.workers[1]!];
    const hung = processOf(cluster, hungId);
    hung.kill('SIGSTOP');
    let ended: Job;
    try {
      ended = await within(3000 + 5000, 'the job failing', final);
    } finally {
      hung.kill('SIGCONT');
    }
    t.is(ended.state, JobState.JOB_STATE_FAILED);
    t.regex(ended.error, new RegExp(`^rank 0 \\(worker ${survivorId}\\) failed: AllReduceTimeoutError: .*never arrived: rank 1`));
    t.true(ended.error.includes(`1=${hungId}`), ended.error);
    t.false((await client.models()).some((m) => m.ref?.name === 'allreduce-timeout'));

    // Both workers are free again once the hung one resumes.
    const next = await client.submit(spec('after-timeout', 1));
    t.is(next.state, JobState.JOB_STATE_RUNNING);
    const done = await within(30_000, 'the next job', client.watch(next.id));
    t.is(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
  } finally {
    client.close();
  }
});

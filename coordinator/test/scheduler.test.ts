// The scheduler's end-of-job windows, with an in-memory job store and fake workers: membership
// changes while a job finishes, stale reports of older generations, and publishing through a
// NATS outage. (Whole jobs through real processes: cli/test/fault-injection.test.ts.)
import test from 'ava';
import { FinalMetrics, Job, JobSpec, JobState, NatsCredentials, objectNames, type JoinResponse, StepMetrics, type WorkerHello, sharesFromSpeeds } from '@syncline/proto';
import { JobNotFoundError } from '../src/errors.js';
import { JobEvents } from '../src/job-events.js';
import { Scheduler, type Publisher } from '../src/scheduling/scheduler.js';
import type { SchedulerOptions } from '../src/scheduling/context.js';
import { WorkerPool, type ConnectedWorker } from '../src/scheduling/worker-pool.js';
import type { JobStore } from '../src/store/job-store.js';

class MemoryJobStore implements JobStore {
  readonly jobs = new Map<string, Job>();
  async create(job: Job): Promise<void> {
    this.jobs.set(job.id, Job.fromPartial(job));
  }
  async get(id: string): Promise<Job | undefined> {
    const job = this.jobs.get(id);
    return job && Job.fromPartial(job);
  }
  async list(): Promise<Job[]> {
    return [...this.jobs.values()].map((j) => Job.fromPartial(j));
  }
  async update(id: string, change: (job: Job) => void): Promise<Job> {
    const job = await this.get(id);
    if (!job) throw new JobNotFoundError(id);
    change(job);
    this.jobs.set(id, job);
    return Job.fromPartial(job);
  }
  async delete(id: string): Promise<void> {
    this.jobs.delete(id);
  }
}

interface FakeWorker extends ConnectedWorker {
  inbox: JoinResponse[];
}

function fixture(publisher?: Partial<Publisher>, natsAccess?: SchedulerOptions['natsAccess']) {
  const store = new MemoryJobStore();
  const pool = new WorkerPool();
  const published: string[] = [];
  const scheduler = new Scheduler({
    store,
    pool,
    events: new JobEvents(),
    allreduceTimeoutSeconds: 5,
    publisher: {
      publish: async (job, prefix) => {
        published.push(prefix);
        return { name: job.spec!.name, version: published.length, url: `http://x/${prefix}` };
      },
      published: async () => undefined,
      ...publisher,
    },
    ...(natsAccess ? { natsAccess } : {}),
  });
  const workers: FakeWorker[] = [];
  const join = async (id: string, hello: Partial<WorkerHello> = {}, samplesPerSecond?: number) => {
    const inbox: JoinResponse[] = [];
    const w: FakeWorker = { id, hello: { workerId: id, hostname: 'h', backend: 'cpu', pid: 1, accelerator: undefined, ...hello }, joinedAt: workers.length, inbox, send: (m) => inbox.push(m) };
    if (samplesPerSecond !== undefined) w.samplesPerSecond = samplesPerSecond;
    workers.push(w);
    pool.add(w);
    await scheduler.workerJoined();
    return w;
  };
  return { store, pool, scheduler, workers, join, published };
}

const spec = JobSpec.fromJSON({
  name: 'windows',
  model: { layers: [{ dense: { units: 10, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1 } } },
  dataset: { name: 'mnist', trainLimit: 640 },
  training: { epochs: 1, globalBatchSize: 64, seed: 1 },
  workers: { min: 2, max: 3 },
});

const assignments = (w: FakeWorker) => w.inbox.flatMap((m) => (m.msg?.$case === 'assignment' ? [m.msg.value] : []));
const cancels = (w: FakeWorker) => w.inbox.flatMap((m) => (m.msg?.$case === 'cancel' ? [m.msg.value] : []));
const lastStep = (total: number): StepMetrics => StepMetrics.fromPartial({ step: total, epoch: 1, loss: 1, accuracy: 0, mae: 0, generatorLoss: 0, samplesPerSecond: 1, workers: 2, totalSteps: total, commFraction: 0, shares: [1, 1], rankSamplesPerSecond: [] });
const finished = (jobId: string, generation: number, artifactPrefix = '') => ({ jobId, generation, metrics: FinalMetrics.fromPartial({ loss: 0.5 }), artifactPrefix, timeline: Buffer.alloc(0) });

async function runningJob(f: ReturnType<typeof fixture>) {
  const [a, b] = [await f.join('a'), await f.join('b')];
  const job = await f.scheduler.submit(spec);
  t0(job.state === JobState.JOB_STATE_RUNNING && job.workers.join() === 'a,b', `job placed on a, b: ${JSON.stringify(job.workers)}`);
  return { job, a, b };
}

function t0(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

test('losing a rank other than 0 once training is over changes nothing: rank 0 publishes and the job succeeds', async (t) => {
  const f = fixture();
  const { job, a, b } = await runningJob(f);
  f.scheduler.stepReported('a', { jobId: job.id, generation: 1, metrics: lastStep(job.totalSteps) });
  await f.scheduler.workerLost('b', 'stream ended');
  t.is(assignments(a).length, 1, 'no new generation');
  await f.scheduler.jobFinished('a', finished(job.id, 1, objectNames.artifactPrefix(job.id, 1)));
  const done = (await f.store.get(job.id))!;
  t.is(done.state, JobState.JOB_STATE_SUCCEEDED);
  t.deepEqual(f.published, [objectNames.artifactPrefix(job.id, 1)]);
  t.is(assignments(b).length, 1);
});

test('losing rank 0 once training is over hands the finished state to a survivor, which publishes it', async (t) => {
  const f = fixture();
  const { job, b } = await runningJob(f);
  await f.join('idle');
  await f.scheduler.jobFinished('b', finished(job.id, 1));
  t.is(f.pool.get('b')?.jobId, job.id, 'a rank that finished training stays with the job until it succeeds');
  await f.scheduler.workerLost('a', 'stream ended');
  const next = assignments(b).at(-1)!;
  t.is(next.generation, 2);
  t.is(next.rank, 0);
  t.is(next.worldSize, 1, 'the survivor alone: its state is final, no idle worker needs to join');
  await f.scheduler.jobFinished('b', finished(job.id, 2, objectNames.artifactPrefix(job.id, 2)));
  t.is((await f.store.get(job.id))!.state, JobState.JOB_STATE_SUCCEEDED);
  t.deepEqual(f.published, [objectNames.artifactPrefix(job.id, 2)]);
});

test('a stale finished or failed report of an older generation does not free a worker of the current one', async (t) => {
  const f = fixture();
  const { job, a } = await runningJob(f);
  const c = await f.join('c');
  await f.scheduler.workerLost('b', 'stream ended');
  t.is(assignments(a).at(-1)!.generation, 2);
  t.is(assignments(c).at(-1)!.generation, 2);
  await f.scheduler.jobFinished('a', finished(job.id, 1));
  await f.scheduler.jobFailed('c', { jobId: job.id, generation: 1, error: 'old news' });
  t.is(f.pool.get('a')?.jobId, job.id);
  t.is(f.pool.get('c')?.jobId, job.id);
  t.is((await f.store.get(job.id))!.state, JobState.JOB_STATE_RUNNING);
});

test('on success the ranks that kept their state for a hand-over are told to drop it', async (t) => {
  const f = fixture();
  const { job, a, b } = await runningJob(f);
  await f.scheduler.jobFinished('b', finished(job.id, 1));
  await f.scheduler.jobFinished('a', finished(job.id, 1, objectNames.artifactPrefix(job.id, 1)));
  t.deepEqual(cancels(b).map((c) => c.reason), ['job succeeded']);
  t.deepEqual(cancels(a), []);
  t.is(f.pool.get('a')?.jobId, undefined);
  t.is(f.pool.get('b')?.jobId, undefined);
});

test('publishing through a NATS outage is retried, and registers one version', async (t) => {
  let registered: { name: string; version: number; url: string } | undefined;
  let failures = 2;
  const f = fixture({
    publish: async (job) => {
      // The first attempt registers the version but its reply is lost; so does the second's lookup.
      registered ??= { name: job.spec!.name, version: 1, url: 'http://x/1' };
      if (failures-- > 0) throw Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
      return registered;
    },
    published: async () => registered,
  });
  const { job } = await runningJob(f);
  await f.scheduler.jobFinished('a', finished(job.id, 1, objectNames.artifactPrefix(job.id, 1)));
  const done = (await f.store.get(job.id))!;
  t.is(done.state, JobState.JOB_STATE_SUCCEEDED);
  t.is(done.model?.version, 1);
  t.is(failures, 1, 'the retry found the version registered and did not publish again');
});

// NATS access for a generation's workers (nats-auth/job-access.ts creates the job's object store,
// which a JetStream cluster refuses while a restarted server rejoins it).
function flakyAccess() {
  const access = {
    /** Set: every call fails with it. */
    failure: undefined as Error | undefined,
    calls: 0,
    forWorker: async (job: Job) => {
      access.calls++;
      if (access.failure) throw access.failure;
      return NatsCredentials.fromPartial({ jwt: `jwt-${job.id}-${access.calls}`, seed: 'seed' });
    },
  };
  return access;
}
// What nats.js throws when an R3 stream cannot be placed (the api_error of a JetStream reply).
const placement = () => Object.assign(new Error('no suitable peers for placement, peer offline'), { code: '10005', api_error: { code: 500, err_code: 10005, description: 'no suitable peers for placement, peer offline' } });

test('a job whose object store NATS cannot place yet waits with the reason, takes no worker, and starts once it can', async (t) => {
  const access = flakyAccess();
  access.failure = placement();
  const f = fixture(undefined, access);
  const [a, b] = [await f.join('a'), await f.join('b')];
  const job = await f.scheduler.submit(spec);
  t.is(job.state, JobState.JOB_STATE_PENDING, 'submit answers with the waiting job, not an error');
  t.is(job.error, 'waiting for NATS to give the workers access to the job (no suitable peers for placement, peer offline)');
  t.is(job.generation, 0);
  t.deepEqual(job.workers, []);
  t.deepEqual([...assignments(a), ...assignments(b)], []);
  t.is(f.pool.idle().length, 2, 'both workers stay free');

  // The ticker's next pass: still refused, nothing written again.
  const before = (await f.store.get(job.id))!.updatedUnixMs;
  await f.scheduler.workerJoined();
  t.is((await f.store.get(job.id))!.state, JobState.JOB_STATE_PENDING);
  t.is((await f.store.get(job.id))!.updatedUnixMs, before);

  access.failure = undefined;
  await f.scheduler.workerJoined();
  const running = (await f.store.get(job.id))!;
  t.is(running.state, JobState.JOB_STATE_RUNNING);
  t.is(running.generation, 1);
  t.is(running.error, '', 'the wait is over');
  t.deepEqual([assignments(a).length, assignments(b).length], [1, 1]);
  t.regex(assignments(a)[0]!.natsCredentials!.jwt, new RegExp(`^jwt-${job.id}-`));
});

test('a job whose NATS access fails for good (its base model is gone) fails with the reason and frees nobody it never took', async (t) => {
  const access = flakyAccess();
  access.failure = new Error('model base-net version 3 not found');
  const f = fixture(undefined, access);
  const a = await f.join('a');
  await f.join('b');
  const job = await f.scheduler.submit(spec);
  t.is(job.state, JobState.JOB_STATE_FAILED);
  t.is(job.error, 'could not give the workers access to the job on NATS: model base-net version 3 not found');
  t.deepEqual(assignments(a), []);
  t.is(f.pool.idle().length, 2);
});

test('a worker lost while NATS cannot give the next generation access: the job waits, its survivor freed, and resumes later', async (t) => {
  const access = flakyAccess();
  const f = fixture(undefined, access);
  const { job, a } = await runningJob(f);
  await f.join('c');
  access.failure = placement();
  await f.scheduler.workerLost('b', 'stream ended');
  const waiting = (await f.store.get(job.id))!;
  t.is(waiting.state, JobState.JOB_STATE_PENDING);
  t.regex(waiting.error, /^worker b was lost after step 0 \(stream ended\); waiting for NATS to give the workers access to the job \(no suitable peers.*\), then resuming from step 0 \(no checkpoint yet\)$/);
  t.deepEqual(cancels(a).map((c) => c.reason), ['waiting for NATS']);
  t.is(f.pool.idle().length, 2, 'the survivor and the idle worker are free');

  access.failure = undefined;
  await f.scheduler.workerJoined();
  const resumed = (await f.store.get(job.id))!;
  t.is(resumed.state, JobState.JOB_STATE_RUNNING);
  t.is(resumed.generation, 2);
  t.deepEqual(resumed.workers, ['a', 'c']);
});

// Scheduling by accelerator (workers.accelerator): fake workers advertising what they compute on.
const gpu = { kind: 'gpu', device: 'nvidia hopper', description: 'H100', memoryBytes: 80 * 2 ** 30, maxBindingBytes: 2 ** 31, software: false };
const cpu = { kind: 'cpu', device: 'AMD EPYC', description: '2 cores', memoryBytes: 24 * 2 ** 30, maxBindingBytes: 0, software: false };
const onAccelerator = (accelerator: string) => JobSpec.fromJSON({ ...JobSpec.toJSON(spec) as object, workers: { min: 2, max: 3, accelerator } });

const joinAs = (f: ReturnType<typeof fixture>, id: string, accelerator: typeof gpu | undefined, samplesPerSecond?: number) =>
  f.join(id, { backend: accelerator?.kind === 'gpu' ? 'webgpu' : 'wasm', accelerator }, samplesPerSecond);

test('a job asking for GPU workers waits, with the reason, while only CPU workers are idle; it starts on GPU workers alone', async (t) => {
  const f = fixture();
  const a = await joinAs(f, 'a', cpu);
  await joinAs(f, 'b', cpu);
  await joinAs(f, 'c', undefined); // an older worker that does not say: scheduled as cpu
  const job = await f.scheduler.submit(onAccelerator('gpu'));
  const waiting = (await f.store.get(job.id))!;
  t.is(waiting.state, JobState.JOB_STATE_PENDING);
  t.is(waiting.error, 'waiting for 2 gpu workers (0 idle; 3 idle cpu workers not used: the job asks for workers.accelerator gpu)');
  t.is(assignments(a).length, 0);

  await joinAs(f, 'g1', gpu);
  t.regex((await f.store.get(job.id))!.error, /waiting for 2 gpu workers \(1 idle; 3 idle cpu/);
  await joinAs(f, 'g2', gpu);
  const running = (await f.store.get(job.id))!;
  t.is(running.state, JobState.JOB_STATE_RUNNING);
  t.deepEqual(running.workers, ['g1', 'g2']);
  t.is(running.error, '', 'the wait is over');
});

test('a cpu job leaves GPU workers alone, and a job for any accelerator takes both with speed-proportional shares', async (t) => {
  const f = fixture();
  await joinAs(f, 'g', gpu, 3000);
  await joinAs(f, 'c1', cpu, 1000);
  await joinAs(f, 'c2', cpu, 1000);
  const cpuJob = await f.scheduler.submit(onAccelerator('cpu'));
  t.deepEqual((await f.store.get(cpuJob.id))!.workers, ['c1', 'c2']);
  await f.scheduler.cancel(cpuJob.id);

  const mixed = await f.scheduler.submit(onAccelerator('any'));
  const job = (await f.store.get(mixed.id))!;
  t.deepEqual(job.workers, ['g', 'c1', 'c2']);
  const shares = assignments(f.pool.get('g') as FakeWorker).at(-1)!.shares;
  t.deepEqual(shares, sharesFromSpeeds([3000, 1000, 1000]));
  t.true(shares[0]! > shares[1]!, `the GPU worker takes the larger share: ${shares}`);
});

test('a running GPU job grows only onto GPU workers', async (t) => {
  const f = fixture();
  await joinAs(f, 'g1', gpu);
  await joinAs(f, 'g2', gpu);
  const job = await f.scheduler.submit(onAccelerator('gpu'));
  t.is((await f.store.get(job.id))!.state, JobState.JOB_STATE_RUNNING);
  await joinAs(f, 'c', cpu);
  // Lose a GPU rank: the survivor waits rather than take the CPU worker.
  await f.scheduler.workerLost('g2', 'stream ended');
  const after = (await f.store.get(job.id))!;
  t.is(after.state, JobState.JOB_STATE_PENDING);
  t.false(after.workers.includes('c'));
  t.is(f.pool.get('c')?.jobId, undefined);
});

test("rank 0's report is checked against the job it was given: other artifacts are refused and the job fails, another checkpoint is ignored", async (t) => {
  const f = fixture();
  const { job, a } = await runningJob(f);
  t.is(assignments(a)[0]!.artifactPrefix, objectNames.artifactPrefix(job.id, 1));
  await f.scheduler.checkpointSaved('a', { jobId: job.id, generation: 1, step: 5, object: objectNames.checkpoint('another-job') });
  t.is((await f.store.get(job.id))!.checkpointStep, 0, 'a checkpoint named outside the job is not recorded');
  await f.scheduler.checkpointSaved('a', { jobId: job.id, generation: 1, step: 5, object: objectNames.checkpoint(job.id) });
  t.is((await f.store.get(job.id))!.checkpointStep, 5);
  // Another job's model files, or this job's generation-start state, are not published.
  await f.scheduler.jobFinished('a', finished(job.id, 1, objectNames.artifactPrefix('another-job', 1)));
  const failed = (await f.store.get(job.id))!;
  t.is(failed.state, JobState.JOB_STATE_FAILED);
  t.regex(failed.error, /reported its model under "jobs\/another-job\/g1", not under jobs\/job-\w+\/g1 where it was assigned; refused/);
  t.deepEqual(f.published, []);
});

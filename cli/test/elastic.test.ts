// Elastic membership through real worker processes: losing a worker (rank 0 itself), gaining
// one, and losing all of them. In every case the job finishes with the model that one process
// training on the same global batches produces — no step lost, none counted twice.
import anyTest, { type TestFn } from 'ava';
import { JobSpec, JobState, type Job } from '@syncline/proto';
import { selectBackend } from '@syncline/worker';
import { loadMnist } from '@syncline/worker/mnist';
import { runJob } from '../../worker/src/train/run-job.js';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';

const test = anyTest as TestFn<{ reference: Map<number, number> }>;

function spec(name: string, min: number, max: number, steps = 60): JobSpec {
  return JobSpec.fromJSON({
    name,
    model: {
      layers: [{ dense: { units: 32, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: { adam: { learningRate: 0.002 } },
    },
    dataset: { name: 'mnist', trainLimit: 2048 },
    training: { epochs: 100, globalBatchSize: 64, seed: 21, maxSteps: steps, checkpointEverySteps: 10 },
    workers: { min, max },
  });
}

/** Held-out loss after `steps` steps of one process, the same global batches, no interruption. */
async function referenceLoss(t: { context: { reference: Map<number, number> } }, steps = 60): Promise<number> {
  const cached = t.context.reference.get(steps);
  if (cached !== undefined) return cached;
  await selectBackend('wasm');
  const { validateJobSpec } = await import('@syncline/coordinator');
  const s = validateJobSpec(spec('reference', 1, 1, steps));
  const r = await runJob({
    assignment: { jobId: 'reference', spec: s, rank: 0, worldSize: 1, generation: 1, shares: [1], artifactPrefix: '', allreduceTimeoutSeconds: 10, checkpoint: '', checkpointObject: '', natsCredentials: undefined },
    dataset: loadMnist(),
    collective: { allReduceSum: async (d) => d, broadcast: async (d) => d! },
  });
  r.replica.dispose();
  t.context.reference.set(steps, r.metrics.loss);
  return r.metrics.loss;
}

test.before((t) => {
  t.context.reference = new Map();
});

const timeouts = { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2000, allreduceTimeoutSeconds: 30 };

async function withCluster(workers: number, fn: (cluster: LocalCluster, client: SynclineClient) => Promise<void>): Promise<void> {
  const cluster = await startLocalCluster({ workers, timeouts });
  const client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
  try {
    await fn(cluster, client);
  } finally {
    client.close();
    await cluster.stop();
  }
}

function workerIndex(id: string): number {
  return Number(id.replace('local-', ''));
}

test.serial('losing rank 0 mid-job: the survivors go on from the last step and finish with the uninterrupted result', async (t) => {
  const expected = await referenceLoss(t);
  await withCluster(3, async (cluster, client) => {
    const submitted = await client.submit(spec('elastic-loss', 2, 3));
    let killed = false;
    const job: Job = await client.watch(submitted.id, {
      metrics: (m) => {
        if (!killed && m.step >= 15) {
          killed = true;
          void client.get(submitted.id).then((j) => cluster.workers[workerIndex(j.workers[0]!)]!.kill('SIGKILL'));
        }
      },
    });
    t.is(job.state, JobState.JOB_STATE_SUCCEEDED, job.error);
    t.true(killed);
    t.is(job.membershipChanges, 1);
    t.is(job.workers.length, 2);
    t.true(Math.abs(job.result!.loss - expected) / expected < 1e-4, `held-out loss ${job.result!.loss} vs uninterrupted ${expected}`);
  });
});

test.serial('a worker that joins a running job below its maximum takes part from the next generation', async (t) => {
  // Long enough that the new worker (a process start, a few seconds on a busy machine) joins
  // well before the end.
  const expected = await referenceLoss(t, 1200);
  await withCluster(2, async (cluster, client) => {
    const submitted = await client.submit(spec('elastic-grow', 2, 3, 1200));
    let added = false;
    const sizes = new Set<number>();
    const job = await client.watch(submitted.id, {
      metrics: (m) => {
        sizes.add(m.workers);
        if (!added && m.step >= 5) {
          added = true;
          void cluster.addWorker();
        }
      },
    });
    t.is(job.state, JobState.JOB_STATE_SUCCEEDED, job.error);
    t.is(job.workers.length, 3);
    t.true(sizes.has(2) && sizes.has(3), `world sizes seen: ${[...sizes].join(', ')}`);
    t.true(Math.abs(job.result!.loss - expected) / expected < 1e-4, `held-out loss ${job.result!.loss} vs uninterrupted ${expected}`);
  });
});

test.serial('losing every worker: the job waits, then resumes from its checkpoint on new workers', async (t) => {
  const expected = await referenceLoss(t);
  await withCluster(2, async (cluster, client) => {
    const submitted = await client.submit(spec('elastic-all', 2, 2));
    let killed = false;
    const states: JobState[] = [];
    const done = client.watch(submitted.id, {
      job: (j) => states.push(j.state),
      metrics: (m) => {
        if (!killed && m.step >= 25) {
          killed = true;
          for (const w of cluster.workers) w.kill('SIGKILL');
          void cluster.addWorker().then(() => cluster.addWorker());
        }
      },
    });
    const job = await done;
    t.is(job.state, JobState.JOB_STATE_SUCCEEDED, job.error);
    t.true(states.includes(JobState.JOB_STATE_PENDING), 'the job waited for workers');
    t.true(job.checkpointStep >= 20, `checkpoint at step ${job.checkpointStep}`);
    t.true(Math.abs(job.result!.loss - expected) / expected < 1e-4, `held-out loss ${job.result!.loss} vs uninterrupted ${expected}`);
  });
});

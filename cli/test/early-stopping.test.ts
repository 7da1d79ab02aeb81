// Early stopping end to end on a local cluster of two workers: `submit --watch` says where and
// why the job stopped, the job succeeds and publishes, its record and `syncline logs` say so too;
// a job whose patience can never be used up is refused at submit with the reason.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';
import { runCli, writeDefaultConfig } from './helpers/processes.js';

const test = anyTest as TestFn<{ cluster: LocalCluster; client: SynclineClient; dir: string }>;

test.before(async (t) => {
  t.context.cluster = await startLocalCluster({ workers: 2 });
  t.context.client = new SynclineClient(t.context.cluster.coordinator.grpcAddress, { token: t.context.cluster.secrets.adminToken });
  await writeDefaultConfig(t.context.cluster.clientConfig);
  t.context.dir = await mkdtemp(join(tmpdir(), 'syncline-early-stopping-'));
});
test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.cluster?.stop();
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
});

/** 400 samples in batches of 40: 30 steps, held-out evaluations every 2 steps; a learning rate that makes the held-out loss go up. */
function job(name: string, patience: number, heldoutEverySteps: number) {
  return {
    name,
    model: { layers: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 1.5 } } },
    dataset: { name: 'mnist', trainLimit: 400 },
    training: { epochs: 3, globalBatchSize: 40, seed: 4, heldoutEverySteps, earlyStopping: { monitor: 'loss', patience } },
    workers: { min: 2, max: 2 },
  };
}

test.serial('submit --watch: the job stops early, succeeds, publishes, and says where and why', async (t) => {
  const { cluster, client, dir } = t.context;
  const file = join(dir, 'early.json');
  await writeFile(file, JSON.stringify(job('early', 2, 2)));
  const r = await runCli(['submit', file, '--watch', '--coordinator', cluster.coordinator.grpcAddress], 120_000);
  t.is(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { jobId: string; state: string; steps: number; model: string; stoppedEarly?: { step: number; bestStep: number; reason: string } };
  t.is(result.state, 'SUCCEEDED');
  t.truthy(result.model);
  const stop = result.stoppedEarly;
  if (!stop) return t.fail(`no early stop in ${r.stdout}`);
  t.true(stop.step < 30 && stop.bestStep < stop.step, JSON.stringify(stop));
  t.is(result.steps, stop.step);
  t.regex(stop.reason, /^held-out loss did not improve for 2 evaluations \(best \d\.\d+ at step \d+\)$/);
  t.regex(r.stderr, new RegExp(`stopped early at step ${stop.step} of 30: ${escape(stop.reason)}`));

  const record = await client.get(result.jobId);
  t.like(record.result?.earlyStop, { step: stop.step, bestStep: stop.bestStep, reason: stop.reason });
  const logs = await runCli(['logs', result.jobId, '--coordinator', cluster.coordinator.grpcAddress]);
  t.is(logs.code, 0, logs.stderr);
  t.regex(logs.stdout, new RegExp(`succeeded after ${stop.step} steps: stopped early at step ${stop.step} of 30: ${escape(stop.reason)}`));
});

test.serial('a patience no schedule can use up is refused at submit, saying how many evaluations there are', async (t) => {
  const { cluster, dir } = t.context;
  const file = join(dir, 'never.json');
  await writeFile(file, JSON.stringify(job('never', 3, 0)));
  const r = await runCli(['submit', file, '--coordinator', cluster.coordinator.grpcAddress]);
  t.not(r.code, 0);
  t.regex(r.stderr, /training\.earlyStopping\.patience.*is 3, but the job evaluates the held-out split 2 times during its 30 steps \(only after each epoch but the last/);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

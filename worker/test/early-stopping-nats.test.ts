// Early stopping across ranks: rank 0 alone evaluates, its value reaches every rank in the next
// step's all-reduce, and every rank stops after the same step — the one a single process stops
// at — with the weights of that step (or, with publishBest, of the best evaluation). Two workers
// over a real nats-server; then a membership change in the middle, in one process.
import anyTest, { type TestFn } from 'ava';
import { NatsCredentialIssuer, validateJobSpec } from '@syncline/coordinator';
import { JobSpec, type Assignment, type FinalMetrics } from '@syncline/proto';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import type { NatsConnection } from 'nats';
import { Collective } from '../src/allreduce/collective.js';
import { NatsBus } from '../src/allreduce/nats-bus.js';
import { connectNats } from '../src/nats-connection.js';
import { selectBackend } from '../src/backend.js';
import { loadDataset } from '../src/data/registry.js';
import { runJob, type JobSession } from '../src/train/run-job.js';
import { assignment, maxRelativeError, trainAlone, trainInProcess } from './helpers/in-process-job.js';

const test = anyTest as TestFn<{ nats: NatsServer }>;

test.before(async (t) => {
  await selectBackend('wasm');
  t.context.nats = await startNatsServer({ maxPayload: 64 * 1024 });
});
test.after.always(async (t) => {
  await t.context.nats?.stop();
});

const PATIENCE = 2;

/** 400 samples, batches of 40: 30 steps; held-out evaluations after every 2nd step. */
function spec(training: Record<string, unknown>): JobSpec {
  return validateJobSpec(
    JobSpec.fromJSON({
      name: 'early-stop',
      // A learning rate high enough that the held-out loss goes up as well as down.
      model: { layers: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 1.5 } } },
      dataset: { name: 'mnist', trainLimit: 400 },
      training: { epochs: 3, globalBatchSize: 40, seed: 4, heldoutEverySteps: 2, ...training },
      workers: { min: 1, max: 2 },
    }),
  );
}

const stopping = { earlyStopping: { monitor: 'loss', patience: PATIENCE } };

/** Keras's rule written out on its own: the step it stops at and the best evaluation, from the recorded held-out losses. */
function expectedStop(evaluations: { step: number; loss: number }[]): { stop: number; bestStep: number; best: number } | undefined {
  let best = Infinity;
  let bestStep = 0;
  let wait = 0;
  for (const { step, loss } of evaluations) {
    const v = Math.fround(loss);
    if (v < best) [best, bestStep, wait] = [v, step, 0];
    else if (++wait >= PATIENCE) return { stop: step, bestStep, best };
  }
  return undefined;
}

async function weightsAlone(training: Record<string, unknown>): Promise<{ weights: Float32Array; metrics: FinalMetrics }> {
  const result = await trainAlone(spec(training), loadDataset('mnist'));
  const weights = await result.replica.getWeights();
  result.replica.dispose();
  return { weights, metrics: result.metrics };
}

/** The job on two workers over NATS: every rank's completed steps, steps seen, weights, and rank 0's result. */
async function twoWorkers(t: { context: { nats: NatsServer } }, jobSpec: JobSpec, jobId: string) {
  const shares = [1, 1];
  const connections: NatsConnection[] = [];
  const collectives: Collective[] = [];
  try {
    const issuer = new NatsCredentialIssuer(t.context.nats.accountKey);
    for (let rank = 0; rank < 2; rank++) connections.push(await connectNats(t.context.nats.url, await issuer.worker({ jobId }), { name: `rank-${rank}` }));
    for (let rank = 0; rank < 2; rank++) collectives.push(new Collective({ bus: new NatsBus(connections[rank]!), jobId, generation: 1, rank, worldSize: 2, timeoutMs: 20_000 }));
    await Promise.all(collectives.map((c) => c.start()));
    const sessions: JobSession[] = [{ step: 0 }, { step: 0 }];
    const seen: number[][] = [[], []];
    let chosen: { step: number; value: number } | undefined;
    const results = await Promise.all(
      collectives.map((collective, rank) => {
        const assignment: Assignment = { jobId, spec: jobSpec, rank, worldSize: 2, generation: 1, shares, artifactPrefix: '', allreduceTimeoutSeconds: 20, checkpoint: '', checkpointObject: '', natsCredentials: undefined };
        return runJob({ assignment, dataset: loadDataset('mnist'), collective, session: sessions[rank]!, onStep: (m) => seen[rank]!.push(m.step), onBestWeights: (step, value) => (chosen = { step, value }) });
      }),
    );
    const weights = await Promise.all(results.map((r) => r.replica.getWeights()));
    for (const r of results) r.replica.dispose();
    return { steps: sessions.map((s) => s.step), seen, weights, metrics: results.map((r) => r.metrics), chosen };
  } finally {
    for (const c of collectives) c.close();
    await Promise.all(connections.map((nc) => nc.close()));
  }
}

test('two workers over NATS stop after the same step as one process, with its weights', async (t) => {
  // The reference: one process that only records the held-out losses, and Keras's rule on them.
  const evaluations: { step: number; loss: number }[] = [];
  const recording = await runJobAlone(spec({}), (m) => m.heldoutExamples > 0 && evaluations.push({ step: m.step, loss: m.heldoutLoss }));
  t.is(recording.steps, 30);
  const expected = expectedStop(evaluations);
  if (!expected) return t.fail(`the held-out losses ${evaluations.map((e) => e.loss.toFixed(3)).join(', ')} never stop: the test needs a job that stops early`);
  t.true(expected.stop < 28, `stops at ${expected.stop}, too late to tell early stopping from the end`);
  t.true(expected.bestStep < expected.stop);

  const alone = await weightsAlone(stopping);
  t.is(alone.metrics.steps, expected.stop);
  t.like(alone.metrics.earlyStop, { step: expected.stop, bestStep: expected.bestStep, bestValue: expected.best });
  // Stopping there leaves exactly the weights of a job that ends there: the step that carried the decision was not applied.
  const truncated = await weightsAlone({ maxSteps: expected.stop });
  t.deepEqual(alone.weights, truncated.weights);

  const two = await twoWorkers(t, spec(stopping), 'early-stop-last');
  t.deepEqual(two.steps, [expected.stop, expected.stop], 'every rank stopped after the same step');
  t.deepEqual(two.seen, [range(expected.stop), range(expected.stop)]);
  t.like(two.metrics[0]!.earlyStop, { step: expected.stop, bestStep: expected.bestStep });
  t.is(two.metrics[0]!.steps, expected.stop);
  t.regex(two.metrics[0]!.earlyStop!.reason, new RegExp(`^held-out loss did not improve for ${PATIENCE} evaluations \\(best \\d\\.\\d+ at step ${expected.bestStep}\\)$`));
  t.is(two.metrics[1]!.earlyStop, undefined, 'rank 0 reports');
  for (const [rank, w] of two.weights.entries()) {
    const err = maxRelativeError(w, truncated.weights);
    t.true(err < 1e-5, `rank ${rank}: relative error ${err} to one process stopped at step ${expected.stop}`);
  }
});

test('with publishBest, rank 0 publishes the weights of the best evaluation', async (t) => {
  const alone = await weightsAlone(stopping);
  const stop = alone.metrics.earlyStop;
  if (!stop) return t.fail('the job does not stop early');
  const atBest = await weightsAlone({ maxSteps: stop.bestStep });
  const two = await twoWorkers(t, spec({ ...stopping, publishBest: true }), 'early-stop-best');
  t.deepEqual(two.steps, [stop.step, stop.step]);
  t.is(two.chosen?.step, stop.bestStep);
  t.true(Math.abs(two.chosen!.value - stop.bestValue) < 1e-5, `best held-out loss ${two.chosen!.value}, one process ${stop.bestValue}`);
  const err = maxRelativeError(two.weights[0]!, atBest.weights);
  t.true(err < 1e-5, `relative error ${err} to one process stopped at the best step ${stop.bestStep}`);
  t.true(maxRelativeError(two.weights[1]!, atBest.weights) > 1e-3, 'rank 1 keeps the last weights; only rank 0 publishes');
  t.true(Math.abs(two.metrics[0]!.loss - atBest.metrics.loss) < 1e-5, `published held-out loss ${two.metrics[0]!.loss}, that of the best weights ${atBest.metrics.loss}`);
});

test('a membership change in the middle (rank 0 replaced, a new worker) ends as the uninterrupted job', async (t) => {
  const alone = await weightsAlone(stopping);
  const stop = alone.metrics.earlyStop;
  if (!stop) return t.fail('the job does not stop early');
  // After the evaluation before the stop (one without improvement, so it counts): its value had
  // not been handed on yet, and rank 0, who made it, is gone. Then after the best step: the state
  // (best, wait) is the survivors', and the new worker's comes with the generation's state.
  const before = stop.step - 2;
  t.true(before > stop.bestStep, 'the evaluation before the stop did not improve');
  for (const until of [before, stop.bestStep + 1]) {
    const results = await trainInProcess(spec(stopping), loadDataset('mnist'), [
      { workers: [0, 1], shares: [1, 1], until },
      { workers: [1, 2], shares: [1, 1] },
    ], `early-stop-elastic-${until}`);
    t.like(results[0]!.metrics.earlyStop, { step: stop.step, bestStep: stop.bestStep }, `interrupted after step ${until}`);
    t.true(Math.abs(results[0]!.metrics.earlyStop!.bestValue - stop.bestValue) < 1e-5);
    for (const [rank, r] of results.entries()) {
      const err = maxRelativeError(await r.replica.getWeights(), alone.weights);
      t.true(err < 1e-5, `interrupted after step ${until}, rank ${rank}: relative error ${err}`);
      r.replica.dispose();
    }
  }
});

test('every worker lost: resumed from the checkpoint, with the early-stopping state in it, it ends as the uninterrupted job', async (t) => {
  const withCheckpoints = { ...stopping, checkpointEverySteps: 5 };
  const alone = await weightsAlone(withCheckpoints);
  const stop = alone.metrics.earlyStop;
  if (!stop) return t.fail('the job does not stop early');
  // The checkpoint after step 10 holds the state after the evaluation at step 8 was taken in;
  // step 10's own evaluation had not been handed on, and must count.
  t.true(stop.step > 10 && stop.bestStep < 10, JSON.stringify(stop));
  const results = await trainInProcess(spec(withCheckpoints), loadDataset('mnist'), [
    { workers: [0, 1], shares: [1, 1], until: stop.step - 1 },
    { workers: [2, 3], shares: [1, 1], fromCheckpoint: true },
  ], 'early-stop-checkpoint');
  t.like(results[0]!.metrics.earlyStop, { step: stop.step, bestStep: stop.bestStep });
  for (const [rank, r] of results.entries()) {
    const err = maxRelativeError(await r.replica.getWeights(), alone.weights);
    t.true(err < 1e-5, `rank ${rank}: relative error ${err}`);
    r.replica.dispose();
  }
});

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

async function runJobAlone(jobSpec: JobSpec, onStep: Parameters<typeof runJob>[0]['onStep']): Promise<FinalMetrics> {
  const result = await runJob({ assignment: assignment(jobSpec, 'alone', 1, 0, [1]), dataset: loadDataset('mnist'), collective: { allReduceSum: async (d) => d, broadcast: async (d) => d! }, ...(onStep ? { onStep } : {}) });
  result.replica.dispose();
  return result.metrics;
}

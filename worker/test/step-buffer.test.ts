// The buffer a step all-reduces: its layout, and compression that touches gradients only. Under
// int8 a step's sample count, speeds and leave flags still sum exactly, the balancer still
// rebalances, and batch-norm statistics still average exactly.
import test from 'ava';
import { validateJobSpec } from '@syncline/coordinator';
import { JobSpec, type StepMetrics } from '@syncline/proto';
import { selectBackend } from '../src/backend.js';
import { loadMnist } from '../src/data/mnist.js';
import { ShareBalancer } from '../src/train/balance.js';
import { runJob } from '../src/train/run-job.js';
import { Stat, StepBufferLayout } from '../src/train/step-buffer.js';
import { StepReducer } from '../src/train/step-reducer.js';
import { Trainer } from '../src/train/trainer.js';
import { assignment, trainInProcess } from './helpers/in-process-job.js';
import { closeWorld, createWorld } from './helpers/world.js';

test.before(async () => {
  await selectBackend('wasm');
});

function mlp(extra: Record<string, unknown> = {}, layers?: unknown[]): JobSpec {
  return validateJobSpec(
    JobSpec.fromJSON({
      name: 'stats',
      model: {
        layers: layers ?? [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
        loss: 'categoricalCrossentropy',
        optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } },
      },
      dataset: { name: 'mnist', trainLimit: 768 },
      training: { epochs: 1, globalBatchSize: 64, seed: 2, ...extra },
      workers: { min: 1, max: 4 },
      communication: { compression: 'int8' },
    }),
  );
}

test('the layout: gradients first (the only compressible part), then statistics, state and the per-rank control slots', (t) => {
  const layout = new StepBufferLayout({ gradients: 5, statistics: [Stat.loss, Stat.samples], state: 2 }, { worldSize: 3 });
  t.is(layout.compressibleLength, 5);
  t.is(layout.length, 5 + 2 + 2 + 3 + 3 + 2);
  const buffer = layout.create();
  buffer.gradients.fill(1);
  buffer.setStat(Stat.samples, 64);
  buffer.state.fill(7);
  buffer.speeds[2] = 0.5;
  buffer.leaving[1] = 1;
  buffer.heldout.set([1, 0.25]);
  t.deepEqual([...buffer.data], [1, 1, 1, 1, 1, 0, 64, 7, 7, 0, 0, 0.5, 0, 1, 0, 1, 0.25]);
  t.throws(() => buffer.stat(Stat.correct), { message: /no correct statistic/ });
  t.throws(() => new StepBufferLayout({ gradients: 1, statistics: [] }).create().speeds, { message: /no control section/ });
  t.throws(() => new StepBufferLayout({ gradients: 1, statistics: [] }).create().heldout, { message: /no control section/ });
});

test('under int8 the sample count, speeds and leave flags of a step sum exactly', async (t) => {
  const spec = mlp();
  const world = createWorld(3, { compression: 'int8', generation: 1, timeoutMs: 20_000 });
  const data = loadMnist();
  const trainers = world.ranks.map(() => new Trainer(spec, data));
  try {
    await Promise.all(world.ranks.map((c) => c.start()));
    const counts = [10, 31, 23];
    const outcomes = await Promise.all(
      world.ranks.map(async (collective, rank) => {
        const reducer = new StepReducer(trainers[rank]!, collective, rank, 3, undefined, undefined);
        const count = counts[rank]!;
        const samples = Uint32Array.from({ length: count }, (_, i) => 100 * rank + i);
        const rows = { x: data.train.x.subarray(0, count * 784), y: data.train.y.subarray(0, count * 10) };
        const { allReduce, outcome } = reducer.forStep(0, count, rank === 2, performance.now());
        const stats = await trainers[rank]!.step({ ...rows, count, epoch: 0, samples }, 1, allReduce);
        return { stats, outcome };
      }),
    );
    for (const { stats, outcome } of outcomes) {
      t.is(stats.samples, 64);
      t.deepEqual(outcome.leaving, [2]);
      t.true([...outcome.msPerSample!].every((ms) => ms > 0), `speeds ${[...outcome.msPerSample!]}`);
      t.deepEqual(outcome.msPerSample, outcomes[0]!.outcome.msPerSample);
    }
  } finally {
    for (const trainer of trainers) trainer.dispose();
    closeWorld(world);
  }
});

test('an int8 job rebalances its shares (the speed slots arrive intact)', async (t) => {
  const spec = mlp({ maxSteps: 12 });
  const world = createWorld(2, { compression: 'int8', jobId: 'rebalance', generation: 1, timeoutMs: 20_000 });
  try {
    await Promise.all(world.ranks.map((c) => c.start()));
    const metrics: StepMetrics[] = [];
    const results = await Promise.all(
      world.ranks.map((collective, rank) =>
        runJob({ assignment: assignment(spec, 'rebalance', 1, rank, [1, 3]), dataset: loadMnist(), collective, ...(rank === 0 ? { onStep: (m: StepMetrics) => metrics.push(m) } : {}) }),
      ),
    );
    for (const r of results) r.replica.dispose();
    t.deepEqual(metrics[0]!.shares, [1, 3]);
    t.true(metrics.every((m) => m.rankSamplesPerSecond.length === 2 && m.rankSamplesPerSecond.every((s) => s > 0)));
    // Every rank ran the balancer on the speeds that came back from the int8 all-reduce. Replaying
    // the same rule here on the speeds rank 0 reported gives the shares of every step: the slots
    // arrived intact and the balancer decided on them (whether it moves away from 1:3 depends on
    // the machine's speeds, so the replay, not a fixed outcome, is the reference).
    const replay = new ShareBalancer([1, 3]);
    for (const m of metrics) {
      t.deepEqual(m.shares, [...replay.shares], `shares at step ${m.step}`);
      replay.observe(m.rankSamplesPerSecond.map((s) => 1000 / s));
    }
    t.is(metrics.length, 12);
  } finally {
    closeWorld(world);
  }
});

test('the published batch-norm statistics of an int8 job equal those of the uncompressed one', async (t) => {
  // Batch normalization first: its moving statistics depend on the data only, not on the weights
  // that compression perturbs, so exact averaging must give the same bits under both.
  const layers = [{ batchNormalization: { momentum: 0.9, epsilon: 0.001 } }, { dense: { units: 10, activation: 'softmax' } }];
  const plans = [{ workers: [0, 1, 2], shares: [1, 2, 1] }];
  const state = async (compression: 'none' | 'int8') => {
    const spec = mlp({ maxSteps: 6 }, layers);
    const results = await trainInProcess(spec, loadMnist(), plans.map((p) => ({ ...p, compression })), `bn-${compression}`);
    const values = await Promise.all(
      results.map(async (r) => {
        const v = new Float32Array(r.replica.state.length);
        await r.replica.state.read(v);
        return v;
      }),
    );
    const weights = await results[0]!.replica.getWeights();
    for (const r of results) r.replica.dispose();
    return { values, weights };
  };
  const exact = await state('none');
  const int8 = await state('int8');
  t.true(exact.values[0]!.length > 0);
  t.true(exact.values[0]!.some((v) => v !== 0 && v !== 1), 'the statistics moved');
  for (const values of int8.values) t.deepEqual(values, exact.values[0]);
  t.notDeepEqual(int8.weights, exact.weights, 'int8 did compress the gradients');
});

// Steering: held-out evaluation every N steps (besides epoch ends), and publishing the weights of
// the best evaluation rather than the last, checked against a run of the same job that only records.
import test from 'ava';
import { validateJobSpec } from '@syncline/coordinator';
import { JobSpec, type StepMetrics } from '@syncline/proto';
import { selectBackend } from '../src/backend.js';
import { loadDataset } from '../src/data/registry.js';
import { runJob } from '../src/train/run-job.js';
import { assignment } from './helpers/in-process-job.js';

test.before(async () => {
  await selectBackend('wasm');
});

function spec(publishBest: boolean) {
  return validateJobSpec(
    JobSpec.fromJSON({
      name: 'steer',
      // A learning rate high enough that the held-out loss goes up as well as down.
      model: { layers: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 1.5 } } },
      dataset: { name: 'mnist', trainLimit: 400 },
      training: { epochs: 3, globalBatchSize: 40, seed: 4, heldoutEverySteps: 4, publishBest },
      workers: { min: 1 },
    }),
  );
}

async function run(publishBest: boolean) {
  const metrics: StepMetrics[] = [];
  let chosen: { step: number; loss: number } | undefined;
  const result = await runJob({
    assignment: assignment(spec(publishBest), 'steer', 1, 0, [1]),
    dataset: loadDataset('mnist'),
    collective: { allReduceSum: async (d) => d, broadcast: async (d) => d! },
    onStep: (m) => metrics.push(m),
    onBestWeights: (step, loss) => (chosen = { step, loss }),
  });
  result.replica.dispose();
  return { metrics, final: result.metrics, chosen };
}

test('held-out every 4 steps and at epoch ends; the best evaluated weights are published with their metrics', async (t) => {
  const recorded = await run(false);
  const evaluated = recorded.metrics.filter((m) => m.heldoutExamples > 0);
  // 10 steps per epoch, 30 steps: after steps 4, 8, 10, 12, 16, 20, 24, 28 (30 is the final evaluation).
  t.deepEqual(evaluated.map((m) => recorded.metrics.indexOf(m) + 1), [4, 8, 10, 12, 16, 20, 24, 28]);
  t.is(recorded.chosen, undefined);
  const losses = evaluated.map((m) => m.heldoutLoss);
  const lowest = Math.min(...losses);
  t.true(lowest < recorded.final.loss, `the last weights (held-out loss ${recorded.final.loss}) are not the best evaluated (${losses.join(', ')}): the test needs a job whose loss goes back up`);

  const steered = await run(true);
  t.deepEqual(steered.metrics.map((m) => m.heldoutLoss), recorded.metrics.map((m) => m.heldoutLoss), 'keeping a copy changes nothing in training');
  t.deepEqual(steered.chosen, { step: losses.indexOf(lowest) === -1 ? -1 : recorded.metrics.indexOf(evaluated[losses.indexOf(lowest)]!) + 1, loss: lowest });
  t.is(steered.final.loss, lowest, 'the published weights are those of the best evaluation');
  t.is(steered.final.accuracy, evaluated[losses.indexOf(lowest)]!.heldoutAccuracy);
});

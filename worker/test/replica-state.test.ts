// Batch normalization keeps moving statistics that each replica updates from its own share of
// the batch; at the end of training they are averaged, so every replica (and the published
// model) holds the same weights, trainable and not.
import test from 'ava';
import { JobSpec, type Assignment } from '@syncline/proto';
import { selectBackend } from '../src/backend.js';
import { loadMnist } from '../src/data/mnist.js';
import { runJob } from '../src/train/run-job.js';
import { closeWorld, createWorld } from './helpers/world.js';

test('replicas of a batch-norm model end with identical weights and averaged moving statistics', async (t) => {
  await selectBackend('wasm');
  const spec = JobSpec.fromJSON({
    name: 'bn',
    model: {
      layers: [{ dense: { units: 16, activation: 'linear' } }, { batchNormalization: { momentum: 0.9, epsilon: 0.001 } }, { dense: { units: 10, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: { sgd: { learningRate: 0.1 } },
    },
    dataset: { name: 'mnist', trainLimit: 256 },
    training: { epochs: 1, globalBatchSize: 64, seed: 4, maxSteps: 4, checkpointEverySteps: 100 },
    workers: { min: 2, max: 2 },
  });
  const world = createWorld(2, { jobId: "bn", generation: 1, timeoutMs: 20_000 });
  try {
    await Promise.all(world.ranks.map((c) => c.start()));
    const results = await Promise.all(
      world.ranks.map((collective, rank) => {
        const assignment: Assignment = { jobId: 'bn', spec, rank, worldSize: 2, generation: 1, shares: [1, 1], artifactPrefix: '', allreduceTimeoutSeconds: 20, checkpoint: '', checkpointObject: '', natsCredentials: undefined };
        return runJob({ assignment, dataset: loadMnist(), collective });
      }),
    );
    const weights = await Promise.all(results.map((r) => r.replica.getWeights()));
    t.true(results[0]!.replica.state.length > 0, 'the model has moving statistics');
    t.deepEqual(weights[0], weights[1]);
    // The statistics moved away from their initial values (mean 0, variance 1).
    const state = new Float32Array(results[0]!.replica.state.length);
    await results[0]!.replica.state.read(state);
    t.true(state.some((v) => v !== 0 && v !== 1));
    for (const r of results) r.replica.dispose();
  } finally {
    closeWorld(world);
  }
});

// The synchronous data-parallel training loop of one replica (one rank of one generation).
import type { Assignment, FinalMetrics, StepMetrics } from '@syncline/proto';
import { epochOrder, stepSlice, stepsPerEpoch } from '@syncline/proto';
import type { Collective } from '../allreduce/collective.js';
import { gatherRows, limitSplit, type Dataset } from '../data/dataset.js';
import { Trainer } from './trainer.js';

export interface RunJobOptions {
  assignment: Assignment;
  dataset: Dataset;
  collective: Pick<Collective, 'allReduceSum' | 'broadcast'>;
  signal?: AbortSignal;
  /** Called after every step, on every rank, with the global step metrics. */
  onStep?: (metrics: StepMetrics) => void;
}

export interface RunJobResult {
  trainer: Trainer;
  metrics: FinalMetrics;
}

/** Tag of the initial-weights broadcast; steps use their own numbers. */
const INITIAL_WEIGHTS = 0;

export function totalSteps(assignment: Assignment, trainCount: number): number {
  const training = assignment.spec!.training!;
  const all = training.epochs * stepsPerEpoch(trainCount, training.globalBatchSize);
  return training.maxSteps > 0 ? Math.min(all, training.maxSteps) : all;
}

export async function runJob(opts: RunJobOptions): Promise<RunJobResult> {
  const { assignment, dataset, collective, signal } = opts;
  const spec = assignment.spec;
  if (!spec?.training || !spec.dataset) throw new Error('assignment without training or dataset spec');
  const { globalBatchSize: batchSize, seed } = spec.training;
  const train = limitSplit(dataset.train, dataset.featureSize, dataset.classes, spec.dataset.trainLimit);
  const steps = totalSteps(assignment, train.count);
  const perEpoch = stepsPerEpoch(train.count, batchSize);
  const started = performance.now();

  const trainer = new Trainer(spec, dataset);
  try {
    // Every replica starts from rank 0's weights, whatever its own initialiser produced.
    const initial = await collective.broadcast(
      assignment.rank === 0 ? trainer.getWeights() : null,
      trainer.gradientLength,
      0,
      INITIAL_WEIGHTS,
      signal,
    );
    if (assignment.rank !== 0) trainer.setWeights(initial);

    let order: Uint32Array | undefined;
    let orderEpoch = -1;
    let epochLoss = 0;
    let epochCorrect = 0;
    let epochSamples = 0;
    for (let step = 0; step < steps; step++) {
      signal?.throwIfAborted();
      const stepStart = performance.now();
      const epoch = Math.floor(step / perEpoch);
      if (epoch !== orderEpoch) {
        order = epochOrder(seed, epoch, train.count);
        orderEpoch = epoch;
        epochLoss = epochCorrect = epochSamples = 0;
      }
      const slice = stepSlice({ seed, n: train.count, batchSize, shares: assignment.shares, rank: assignment.rank, step, order: order! });
      const rows = gatherRows(train, dataset.featureSize, dataset.classes, slice.indices);
      const local = trainer.localGradients(rows.x, rows.y, slice.indices.length);
      const commStart = performance.now();
      const summed = await collective.allReduceSum(local, step + 1, signal);
      const commMs = performance.now() - commStart;
      const stats = trainer.applySummed(summed);
      epochLoss += stats.loss * stats.samples;
      epochCorrect += stats.accuracy * stats.samples;
      epochSamples += stats.samples;
      const stepMs = performance.now() - stepStart;
      opts.onStep?.({
        step: step + 1,
        epoch: epoch + 1,
        loss: stats.loss,
        accuracy: stats.accuracy,
        samplesPerSecond: stats.samples / (stepMs / 1000),
        workers: assignment.worldSize,
        totalSteps: steps,
        commFraction: commMs / stepMs,
      });
    }

    const heldout = trainer.evaluate(dataset.heldout);
    return {
      trainer,
      metrics: {
        loss: heldout.loss,
        accuracy: heldout.accuracy,
        heldoutExamples: dataset.heldout.count,
        trainLoss: epochSamples > 0 ? epochLoss / epochSamples : 0,
        trainAccuracy: epochSamples > 0 ? epochCorrect / epochSamples : 0,
        steps,
        seconds: (performance.now() - started) / 1000,
      },
    };
  } catch (err) {
    trainer.dispose();
    throw err;
  }
}

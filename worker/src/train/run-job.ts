// The synchronous data-parallel training loop of one replica (one rank of one generation): bring
// the generation to one state, run its steps (until the last, or until early stopping says stop),
// then average the replicas' statistics and (rank 0) evaluate. The parts live beside it:
// step-buffer.ts (what a step all-reduces), step-reducer.ts (running those all-reduces),
// generation-start.ts, periodic-checkpoint.ts, balance.ts, epoch-metrics.ts, timeline.ts,
// heldout.ts, early-stopping.ts.
import * as tf from '@tensorflow/tfjs';
import type { Assignment, FinalMetrics, StepMetrics } from '@syncline/proto';
import { stepsPerEpoch } from '@syncline/proto';
import type { Collective } from '../allreduce/collective.js';
import { augments, imageShapeOf } from '../augment/augment.js';
import { Augmenter } from '../augment/augmenter.js';
import type { Dataset } from '../data/dataset.js';
import { jobSplits } from '../data/selection.js';
import { RanksLeavingError } from '../errors.js';
import type { FaultInjector } from '../faults.js';
import { scheduleFactor } from '../model/schedule.js';
import { ShareBalancer } from './balance.js';
import { BatchSource } from './batch-source.js';
import { EpochMetrics, stepMetrics } from './epoch-metrics.js';
import { GanTrainer } from './gan-trainer.js';
import { EarlyStoppingRule, INITIAL_EARLY_STOPPING, type EarlyStoppingState } from './early-stopping.js';
import { BestWeights, NO_HELDOUT, epochEndEvaluation, evaluationDue } from './heldout.js';
import { startGeneration, type JobSession, type StateStore } from './generation-start.js';
import { PeriodicCheckpoint } from './periodic-checkpoint.js';
import { exactLayout, reduce } from './step-buffer.js';
import { StepReducer, operationId } from './step-reducer.js';
import { Timeline, type TraceEvent } from './timeline.js';
import { Trainer, type Replica } from './trainer.js';

export type { JobSession, StateStore } from './generation-start.js';

export interface RunJobOptions {
  assignment: Assignment;
  dataset: Dataset;
  collective: Pick<Collective, 'allReduceSum' | 'broadcast'>;
  signal?: AbortSignal;
  /** Called after every step, on every rank, with the global step metrics. */
  onStep?: (metrics: StepMetrics) => void;
  /** Names this worker's track in the timeline. */
  workerLabel?: string;
  /**
   * This worker's state of the job, kept across generations: the replica and its completed
   * steps. runJob creates the replica when there is none and advances `step` after every
   * completed step, so a worker whose generation ends keeps a consistent state to go on from.
   */
  session?: JobSession & { metrics?: EpochMetrics; best?: BestWeights };
  /** Where checkpoints and the state of a new generation are exchanged (the object store). */
  states?: StateStore;
  /** Called on rank 0 after each periodic checkpoint is stored (they are written in the background). */
  onCheckpoint?: (step: number, object: string) => void;
  /** Called on rank 0 when a checkpoint could not be stored; training goes on. */
  onCheckpointFailed?: (step: number, err: unknown) => void;
  /**
   * Asked before each step: true once this worker wants to leave (SIGTERM). It then announces it
   * in the step's control slots, and every rank stops after that step with RanksLeavingError,
   * state intact, to wait for the generation without it: no step is lost or redone.
   */
  leaving?: () => boolean;
  faults?: FaultInjector;
  /**
   * Called on rank 0 when it publishes the best evaluated weights (training.publishBest) instead
   * of the last: their step and held-out value (loss, or training.earlyStopping's metric).
   */
  onBestWeights?: (step: number, value: number) => void;
  /** The files of the job's base model (model.base), when it has one. */
  baseModel?: tf.io.ModelArtifacts;
  /** Augment on the training thread instead of the augmentation thread (tests: the result is the same). */
  augmentInline?: boolean;
}

export interface RunJobResult {
  replica: Replica;
  /** Held-out metrics on rank 0; the other ranks leave evaluation to it. */
  metrics: FinalMetrics;
  /** This rank's timeline events, when the job asked for a timeline. */
  timeline?: TraceEvent[];
}

/** `base`: the loaded base model of a transfer-learning job; the replica takes it over. */
export function createReplica(assignment: Assignment, dataset: Dataset, base?: tf.LayersModel): Replica {
  const spec = assignment.spec!;
  return spec.gan ? new GanTrainer(spec, dataset) : new Trainer(spec, dataset, base);
}

/** The base model of a transfer-learning job, from its artifacts; undefined for other jobs. */
async function loadBase(assignment: Assignment, artifacts: tf.io.ModelArtifacts | undefined): Promise<tf.LayersModel | undefined> {
  const base = assignment.spec!.model?.base;
  if (!base) return undefined;
  if (!artifacts) throw new Error(`the job starts from base model ${base.name} v${base.version}, whose files were not given`);
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

export function totalSteps(assignment: Assignment, trainCount: number): number {
  const training = assignment.spec!.training!;
  const all = training.epochs * stepsPerEpoch(trainCount, training.globalBatchSize);
  return training.maxSteps > 0 ? Math.min(all, training.maxSteps) : all;
}

/**
 * Averages the replicas' non-trainable state (batch-norm moving statistics, which each replica
 * updates from its own share of the batch), exactly, so every replica ends with, and rank 0
 * publishes, statistics of the whole data rather than of one share.
 */
async function averageState(replica: Replica, collective: RunJobOptions['collective'], id: number, world: number, signal?: AbortSignal): Promise<void> {
  if (replica.state.length === 0 || world === 1) return;
  const local = exactLayout(replica.state.length).create();
  await replica.state.read(local.state);
  const summed = await reduce(collective, local, id, signal);
  const mean = new Float32Array(replica.state.length);
  summed.state.forEach((v, i) => (mean[i] = v / world));
  replica.state.assign(mean);
}

/** Thrown from the last all-reduce of a step, on every rank alike, when early stopping says stop: the step is not applied. */
class EarlyStopSignal extends Error {
  constructor() {
    super('early stopping: training ends before this step');
    this.name = 'EarlyStopSignal';
  }
}

export async function runJob(opts: RunJobOptions): Promise<RunJobResult> {
  const { assignment, dataset, collective, signal, faults } = opts;
  const spec = assignment.spec;
  if (!spec?.training || !spec.dataset) throw new Error('assignment without training or dataset spec');
  // A GAN applies its discriminator's update before the generator's all-reduce: it could not stop
  // with the step undone. (The coordinator refuses the combination.)
  if (spec.training.earlyStopping && spec.gan) throw new Error('training.earlyStopping is not available for GAN jobs');
  const { globalBatchSize: batchSize, seed } = spec.training;
  const { train, heldout } = await jobSplits(dataset, spec.dataset);
  const steps = totalSteps(assignment, train.count);
  const perEpoch = stepsPerEpoch(train.count, batchSize);
  const started = performance.now();

  const session = opts.session ?? { step: 0 };
  const replica = session.replica ?? createReplica(assignment, dataset, await loadBase(assignment, opts.baseModel));
  const augment = spec.dataset.augment;
  const augmenter = augments(augment) ? new Augmenter({ spec: augment, shape: imageShapeOf(augment, dataset.inputShape), seed }, { inline: opts.augmentInline === true }) : undefined;
  try {
    const start = await startGeneration(assignment, collective, opts.states, session, replica, signal);
    session.replica = replica;
    session.step = start.step;
    session.averaged = start.averaged;
    const metrics = (session.metrics ??= new EpochMetrics());
    const rule = spec.training.earlyStopping ? new EarlyStoppingRule(spec.training.earlyStopping) : undefined;
    let stopping: EarlyStoppingState | undefined = rule ? (start.earlyStopping ?? INITIAL_EARLY_STOPPING) : undefined;
    session.earlyStopping = stopping;

    const world = assignment.worldSize;
    const balancer = new ShareBalancer(assignment.shares);
    const timeline = spec.training.timeline ? new Timeline(assignment.rank, opts.workerLabel ?? `rank ${assignment.rank}`) : undefined;
    const reducer = new StepReducer(replica, collective, assignment.rank, world, timeline, signal);
    const checkpoints = new PeriodicCheckpoint(assignment, opts.states, steps, { ...(opts.onCheckpoint ? { onSaved: opts.onCheckpoint } : {}), ...(opts.onCheckpointFailed ? { onFailed: opts.onCheckpointFailed } : {}) }, faults);
    const best = spec.training.publishBest && assignment.rank === 0 ? (session.best ??= new BestWeights(rule ? (value, b) => rule.improves(value, b) : undefined)) : undefined;
    const batches = new BatchSource(train, { seed, batchSize, rank: assignment.rank, steps }, augmenter, signal);
    const every = spec.training.heldoutEverySteps;
    const evaluates = assignment.rank === 0 && heldout.count > 0 && Boolean(opts.onStep || rule || best);
    // Rank 0's evaluation after the last step, handed on in the next step's all-reduce. A new
    // generation has lost it: rank 0 evaluates the same weights again.
    let handOn: number | undefined;
    if (rule && stopping?.stoppedAt === undefined && evaluates && evaluationDue(start.step, perEpoch, steps, every)) handOn = rule.value(await replica.evaluate(heldout, signal));
    for (let step = start.step; step < steps && stopping?.stoppedAt === undefined; step++) {
      signal?.throwIfAborted();
      faults?.at(spec.name, assignment.rank, step + 1);
      const wallStart = Timeline.now();
      const shares = [...balancer.shares];
      const next = batches.batch(step, shares);
      const batch = next instanceof Promise ? await next : next;
      const { count, epoch } = batch;
      const dataEnd = Timeline.now();
      timeline?.span('data', wallStart, dataEnd, step + 1);
      faults?.check('compute');
      // Every rank knows when rank 0 may hand on an evaluation, and keeps the non-trainable state
      // (batch-norm statistics, which the forward pass moves) to undo the step if it stops.
      const mayStop = rule !== undefined && evaluationDue(step, perEpoch, steps, every);
      const stateBefore = mayStop && replica.state.length > 0 ? new Float32Array(replica.state.length) : undefined;
      if (stateBefore) await replica.state.read(stateBefore);
      const decided: { state?: EarlyStoppingState } = {};
      const received = (value: number) => {
        if (!rule || !stopping) throw new Error(`rank 0 handed on a held-out value in step ${step + 1} of a job without early stopping`);
        decided.state = rule.observe(stopping, value, step);
        if (decided.state.stoppedAt !== undefined) throw new EarlyStopSignal();
      };
      const { allReduce, outcome } = reducer.forStep(step, count, opts.leaving?.() === true, dataEnd, { value: handOn, received });
      handOn = undefined;
      let stats;
      try {
        stats = await replica.step(batch, scheduleFactor(spec.training.learningRateSchedule, step, steps), allReduce);
      } catch (err) {
        if (!(err instanceof EarlyStopSignal)) throw err;
        // Every rank received the same value and came to the same decision: the replica is as
        // it was after `step` steps, where training ends.
        if (stateBefore) replica.state.assign(stateBefore);
        session.earlyStopping = stopping = decided.state;
        break;
      }
      if (decided.state) session.earlyStopping = stopping = decided.state;
      timeline?.span('update', outcome.reducedAt, Timeline.now(), step + 1);
      session.step = step + 1;
      metrics.add(epoch, stats);
      if (!(await checkpoints.after(session.step, replica, stopping))) opts.onCheckpointFailed?.(session.step, new Error('the previous checkpoint is still being written'));
      if (!spec.training.fixedShares && outcome.msPerSample) balancer.observe(outcome.msPerSample);
      const timing = { stepMs: Timeline.now() - wallStart, commMs: outcome.commMs, msPerSample: outcome.msPerSample };
      const evaluation = evaluates ? await epochEndEvaluation(replica, heldout, assignment.rank, step + 1, perEpoch, steps, every, signal) : undefined;
      if (evaluation && evaluation.heldoutExamples > 0) {
        const value = rule ? rule.value({ loss: evaluation.heldoutLoss, accuracy: evaluation.heldoutAccuracy }) : evaluation.heldoutLoss;
        if (rule) handOn = value;
        await best?.offer(value, step + 1, () => replica.getWeights());
      }
      if (opts.onStep) opts.onStep(stepMetrics(step, epoch, steps, world, shares, stats, timing, evaluation ?? NO_HELDOUT));
      if (outcome.leaving.length > 0 && session.step < steps) throw new RanksLeavingError(assignment.jobId, session.step, outcome.leaving);
    }

    const stoppedAt = stopping?.stoppedAt;
    const done = stoppedAt ?? steps;
    faults?.at(spec.name, assignment.rank, done);
    if (!session.averaged) {
      await averageState(replica, collective, operationId(steps, replica.phases.length, 0), world, signal);
      session.averaged = true;
    }
    faults?.check('evaluate');
    // Every replica holds the same weights now: rank 0 alone evaluates, for the published result.
    let result = assignment.rank === 0 ? await replica.evaluate(heldout, signal) : { loss: 0, accuracy: 0, mae: 0 };
    const better = best?.better(rule ? rule.value(result) : result.loss);
    if (better) {
      // Rank 0 alone publishes: it takes the best evaluated weights, and reports their metrics.
      replica.setWeights(better.weights);
      result = await replica.evaluate(heldout, signal);
      opts.onBestWeights?.(better.step, better.value);
    }
    const earlyStop = assignment.rank === 0 && rule && stopping ? rule.describe(stopping) : undefined;
    return {
      replica,
      ...(timeline ? { timeline: timeline.toEvents() } : {}),
      metrics: { ...metrics.final(result, assignment.rank === 0 ? heldout.count : 0, done, (performance.now() - started) / 1000), earlyStop },
    };
  } catch (err) {
    // The caller decides whether the state lives on (a new generation of the same job) or goes.
    session.replica = replica;
    throw err;
  } finally {
    await augmenter?.close();
  }
}

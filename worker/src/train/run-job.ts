// The synchronous data-parallel training loop of one replica (one rank of one generation).
import type { Assignment, FinalMetrics, StepMetrics } from '@syncline/proto';
import { epochOrder, objectNames, stepSlice, stepsPerEpoch } from '@syncline/proto';
import type { Collective } from '../allreduce/collective.js';
import { gatherRows, limitSplit, type Dataset } from '../data/dataset.js';
import { scheduleFactor } from '../model/schedule.js';
import { ShareBalancer } from './balance.js';
import { decodeState, encodeState } from './checkpoint.js';
import { GanTrainer } from './gan-trainer.js';
import { epochEndEvaluation } from './heldout.js';
import { Timeline, type TraceEvent } from './timeline.js';
import { Trainer, type AllReduce, type Replica } from './trainer.js';

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
  session?: JobSession;
  /** Where checkpoints and the state of a new generation are exchanged (the object store). */
  states?: StateStore;
  /** Called on rank 0 after each periodic checkpoint. */
  onCheckpoint?: (step: number, object: string) => void;
}

export interface JobSession {
  replica?: Replica;
  step: number;
}

export interface StateStore {
  save(name: string, bytes: Uint8Array): Promise<void>;
  load(name: string): Promise<Uint8Array | undefined>;
}

export interface RunJobResult {
  replica: Replica;
  metrics: FinalMetrics;
  /** This rank's timeline events, when the job asked for a timeline. */
  timeline?: TraceEvent[];
}

export function createReplica(assignment: Assignment, dataset: Dataset): Replica {
  const spec = assignment.spec!;
  return spec.gan ? new GanTrainer(spec, dataset, assignment.rank) : new Trainer(spec, dataset);
}

/**
 * Averages the replicas' non-trainable state (batch-norm moving statistics, which each replica
 * updates from its own share of the batch), so every replica ends with, and rank 0 publishes,
 * statistics of the whole data rather than of one share.
 */
async function averageState(replica: Replica, collective: RunJobOptions['collective'], id: number, world: number, signal?: AbortSignal): Promise<void> {
  if (replica.state.length === 0 || world === 1) return;
  const local = new Float32Array(replica.state.length);
  replica.state.read(local);
  const summed = await collective.allReduceSum(local, id, signal);
  const mean = new Float32Array(summed.length);
  for (let i = 0; i < mean.length; i++) mean[i] = summed[i]! / world;
  replica.state.assign(mean);
}

/** Tag of the broadcast that starts a generation; steps use their own numbers. */
const START = 0;

async function saveState(store: StateStore, name: string, replica: Replica, step: number): Promise<void> {
  await store.save(name, encodeState({ step, weights: replica.getWeights(), optimizers: await replica.optimizerStates() }));
}

async function restoreState(replica: Replica, bytes: Uint8Array): Promise<number> {
  const state = decodeState(bytes);
  replica.setWeights(state.weights);
  await replica.restoreOptimizers(state.optimizers);
  replica.resumedAt(state.step);
  return state.step;
}

/**
 * Brings every replica of a generation to one consistent state and returns its step.
 * Generation 1 of a new job: rank 0's initial weights, broadcast. Later generations (workers
 * lost or added, a restart): rank 0's state — its own from the previous generation, else the
 * job's last checkpoint, else a fresh start — stored and loaded by everyone, weights and
 * optimizer state alike. Survivors of a generation may differ by one step (a peer died
 * between delivering its last chunks to some ranks and not others); adopting rank 0's state
 * makes them identical again.
 */
async function startGeneration(opts: RunJobOptions, session: JobSession, replica: Replica): Promise<number> {
  const { assignment: a, collective, signal } = opts;
  const fresh = a.generation === 1 && !a.checkpoint;
  if (fresh || !opts.states) {
    const initial = await collective.broadcast(a.rank === 0 ? replica.getWeights() : null, replica.weightLength, 0, START, signal);
    if (a.rank !== 0) replica.setWeights(initial);
    return 0;
  }
  const resync = objectNames.generationStart(a.jobId, a.generation);
  if (a.rank === 0) {
    let step = session.replica === replica ? session.step : 0;
    if (step === 0 && a.checkpoint) {
      const bytes = await opts.states.load(a.checkpoint);
      if (bytes) step = await restoreState(replica, bytes);
    }
    await saveState(opts.states, resync, replica, step);
    await collective.broadcast(Float32Array.of(step), 1, 0, START, signal);
    return step;
  }
  const [step] = await collective.broadcast(null, 1, 0, START, signal);
  const bytes = await opts.states.load(resync);
  if (!bytes) throw new Error(`the state of generation ${a.generation} is missing from the object store`);
  const restored = await restoreState(replica, bytes);
  if (restored !== step) throw new Error(`generation ${a.generation} state is for step ${restored}, rank 0 announced ${step}`);
  return restored;
}

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
  const train = limitSplit(dataset.train, dataset, spec.dataset.trainLimit);
  const steps = totalSteps(assignment, train.count);
  const perEpoch = stepsPerEpoch(train.count, batchSize);
  const started = performance.now();

  const session = opts.session ?? { step: 0 };
  const replica = session.replica ?? createReplica(assignment, dataset);
  try {
    const startStep = await startGeneration(opts, session, replica);
    session.replica = replica;
    session.step = startStep;
    const checkpointEvery = spec.training.checkpointEverySteps || 100;

    let order: Uint32Array | undefined;
    let orderEpoch = -1;
    let epochLoss = 0;
    let epochCorrect = 0;
    let epochAbsError = 0;
    let epochSamples = 0;
    const world = assignment.worldSize;
    const lastPhase = replica.phases - 1;
    const balancer = new ShareBalancer(assignment.shares);
    const timeline = spec.training.timeline ? new Timeline(assignment.rank, opts.workerLabel ?? `rank ${assignment.rank}`) : undefined;
    for (let step = startStep; step < steps; step++) {
      signal?.throwIfAborted();
      const wallStart = Timeline.now();
      const epoch = Math.floor(step / perEpoch);
      if (epoch !== orderEpoch) {
        order = epochOrder(seed, epoch, train.count);
        orderEpoch = epoch;
        epochLoss = epochCorrect = epochAbsError = epochSamples = 0;
      }
      const shares = [...balancer.shares];
      const slice = stepSlice({ seed, n: train.count, batchSize, shares, rank: assignment.rank, step, order: order! });
      const rows = gatherRows(train, dataset, slice.indices);
      const count = slice.indices.length;
      const dataEnd = Timeline.now();
      timeline?.span('data', wallStart, dataEnd, step + 1);
      let commMs = 0;
      let computeMs = 0;
      let msPerSample: Float32Array | undefined;
      let phaseStart = dataEnd;
      // The last phase carries one slot per rank behind the replica's buffer: each rank's
      // compute time per sample, which the balancer reads.
      const reducer: AllReduce = {
        buffer: (length, phase) => new Float32Array(length + (phase === lastPhase ? world : 0)).subarray(0, length),
        sum: async (buffer, phase) => {
          const commStart = Timeline.now();
          computeMs += commStart - phaseStart;
          timeline?.span(phase === 0 ? 'forward/backward' : `forward/backward ${phase + 1}`, phaseStart, commStart, step + 1);
          const last = phase === lastPhase;
          const payload = last ? new Float32Array(buffer.buffer, buffer.byteOffset, buffer.length + world) : buffer;
          if (last) payload[buffer.length + assignment.rank] = count > 0 ? computeMs / count : 0;
          // Collective step ids increase across phases and steps.
          const summed = await collective.allReduceSum(payload, step * replica.phases + phase + 1, signal);
          phaseStart = Timeline.now();
          commMs += phaseStart - commStart;
          timeline?.span('all-reduce', commStart, phaseStart, step + 1);
          if (!last) return summed;
          msPerSample = summed.slice(buffer.length);
          return summed.subarray(0, buffer.length);
        },
      };
      const stats = await replica.step(rows.x, rows.y, count, scheduleFactor(spec.training.learningRateSchedule, step, steps), reducer);
      timeline?.span('update', phaseStart, Timeline.now(), step + 1);
      session.step = step + 1;
      if (assignment.rank === 0 && opts.states && assignment.checkpointObject && session.step % checkpointEvery === 0 && session.step < steps) {
        await saveState(opts.states, assignment.checkpointObject, replica, session.step);
        opts.onCheckpoint?.(session.step, assignment.checkpointObject);
      }
      if (!spec.training.fixedShares && msPerSample) balancer.observe(msPerSample);
      epochLoss += stats.loss * stats.samples;
      epochCorrect += stats.accuracy * stats.samples;
      epochAbsError += stats.mae * stats.samples;
      epochSamples += stats.samples;
      const stepMs = Timeline.now() - wallStart;
      opts.onStep?.({
        step: step + 1,
        epoch: epoch + 1,
        loss: stats.loss,
        accuracy: stats.accuracy,
        mae: stats.mae,
        generatorLoss: stats.generatorLoss ?? 0,
        samplesPerSecond: stats.samples / (stepMs / 1000),
        workers: assignment.worldSize,
        totalSteps: steps,
        commFraction: commMs / stepMs,
        shares,
        rankSamplesPerSecond: msPerSample ? [...msPerSample].map((ms) => (ms > 0 ? 1000 / ms : 0)) : [],
        ...epochEndEvaluation(replica, dataset.heldout, assignment.rank, step + 1, perEpoch, steps),
      });
    }

    await averageState(replica, collective, steps * replica.phases + 1, assignment.worldSize, signal);
    const heldout = replica.evaluate(dataset.heldout);
    const mean = (sum: number) => (epochSamples > 0 ? sum / epochSamples : 0);
    return {
      replica,
      ...(timeline ? { timeline: timeline.toEvents() } : {}),
      metrics: {
        loss: heldout.loss,
        accuracy: heldout.accuracy,
        mae: heldout.mae,
        generatorLoss: heldout.generatorLoss ?? 0,
        heldoutExamples: dataset.heldout.count,
        trainLoss: mean(epochLoss),
        trainAccuracy: mean(epochCorrect),
        trainMae: mean(epochAbsError),
        steps,
        seconds: (performance.now() - started) / 1000,
      },
    };
  } catch (err) {
    // The caller decides whether the state lives on (a new generation of the same job) or goes.
    session.replica = replica;
    throw err;
  }
}

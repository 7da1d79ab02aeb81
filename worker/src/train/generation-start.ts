// How the replicas of a generation come to one consistent state before their first step.
import type { Assignment } from '@syncline/proto';
import { objectNames } from '@syncline/proto';
import type { Collective } from '../allreduce/collective.js';
import { decodeState, encodeState } from './checkpoint.js';
import type { EarlyStoppingState } from './early-stopping.js';
import type { Replica } from './trainer.js';

/** This worker's state of a job, kept across generations (train/sessions.ts). */
export interface JobSession {
  replica?: Replica;
  /** Completed steps of `replica`. */
  step: number;
  /** The batch-norm statistics of `replica` are averaged already (training ended). */
  averaged?: boolean;
  /** training.earlyStopping's state after `step` (every rank holds it alike). */
  earlyStopping?: EarlyStoppingState;
}

/** Where checkpoints and the state of a new generation are exchanged (the object store). */
export interface StateStore {
  save(name: string, bytes: Uint8Array): Promise<void>;
  load(name: string): Promise<Uint8Array | undefined>;
}

/** Tag of the broadcast that starts a generation; steps use their own numbers. */
const START = 0;

/** The replica's whole state after `step` completed steps, as bytes (a snapshot: training may go on). */
export async function snapshotState(replica: Replica, step: number, earlyStopping?: EarlyStoppingState): Promise<Uint8Array> {
  return encodeState({ step, weights: await replica.getWeights(), optimizers: await replica.optimizerStates(), ...(earlyStopping ? { earlyStopping } : {}) });
}

async function restoreState(replica: Replica, bytes: Uint8Array): Promise<{ step: number; earlyStopping?: EarlyStoppingState }> {
  const state = decodeState(bytes);
  replica.setWeights(state.weights);
  await replica.restoreOptimizers(state.optimizers);
  return { step: state.step, ...(state.earlyStopping ? { earlyStopping: state.earlyStopping } : {}) };
}

export interface GenerationStart {
  /** Completed steps every replica of the generation now holds. */
  step: number;
  /** Whether that state's statistics are averaged already. */
  averaged: boolean;
  /** training.earlyStopping's state at that step (undefined: none yet). */
  earlyStopping?: EarlyStoppingState;
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
export async function startGeneration(
  a: Assignment,
  collective: Pick<Collective, 'broadcast'>,
  states: StateStore | undefined,
  session: JobSession,
  replica: Replica,
  signal?: AbortSignal,
): Promise<GenerationStart> {
  const fresh = a.generation === 1 && !a.checkpoint;
  if (fresh || !states) {
    const initial = await collective.broadcast(a.rank === 0 ? await replica.getWeights() : null, replica.weightLength, 0, START, signal);
    if (a.rank !== 0) replica.setWeights(initial);
    return { step: 0, averaged: false };
  }
  const resync = objectNames.generationStart(a.jobId, a.generation);
  if (a.rank === 0) {
    const own = session.replica === replica;
    let step = own ? session.step : 0;
    let averaged = own && session.averaged === true;
    let earlyStopping = own ? session.earlyStopping : undefined;
    if (step === 0 && a.checkpoint) {
      const bytes = await states.load(a.checkpoint);
      if (bytes) ({ step, earlyStopping } = await restoreState(replica, bytes));
      averaged = false;
    }
    await states.save(resync, await snapshotState(replica, step, earlyStopping));
    await collective.broadcast(Float32Array.of(step, averaged ? 1 : 0), 2, 0, START, signal);
    return { step, averaged, ...(earlyStopping ? { earlyStopping } : {}) };
  }
  const [step, averaged] = await collective.broadcast(null, 2, 0, START, signal);
  const bytes = await states.load(resync);
  if (!bytes) throw new Error(`the state of generation ${a.generation} is missing from the object store`);
  const restored = await restoreState(replica, bytes);
  if (restored.step !== step) throw new Error(`generation ${a.generation} state is for step ${restored.step}, rank 0 announced ${step}`);
  return { ...restored, averaged: averaged === 1 };
}

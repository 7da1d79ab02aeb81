// One assignment (one rank of one generation of a job), from the dataset to the report: load
// the data, check the kernels, meet the peers, train, (rank 0) publish, then tell the
// coordinator how it ended.
import { retryTransient, type Assignment, type JoinRequest, type Logger } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { Collective } from '../allreduce/collective.js';
import { NatsBus } from '../allreduce/nats-bus.js';
import { communicationOptions } from '../allreduce/select.js';
import { loadBaseArtifacts } from '../artifacts/base-model.js';
import { isBuiltinDataset, loadDataset } from '../data/registry.js';
import { loadUserDataset } from '../data/user-datasets.js';
import { JobCancelledError, RanksLeavingError } from '../errors.js';
import type { FaultInjector } from '../faults.js';
import { runJob } from '../train/run-job.js';
import type { JobSessions } from '../train/sessions.js';
import type { KernelProbe } from './kernel-probe.js';
import { objectStates } from './object-states.js';
import { publishModel } from './publish.js';

/**
 * How long the peers of a new generation wait for each other at its start. Long: a joining
 * worker may be downloading a large dataset first; a peer that died meanwhile is noticed by the
 * coordinator (heartbeats), whose next generation ends the wait.
 */
export const START_TIMEOUT_MS = 10 * 60_000;

export interface RunnerContext {
  nc: NatsConnection;
  workerId: string;
  sessions: JobSessions;
  kernels: KernelProbe;
  send(request: JoinRequest): void;
  /** True once this worker wants to leave (SIGTERM): it then stops at the next step boundary. */
  leaving(): boolean;
  logger?: Logger;
  faults?: FaultInjector;
}

/** How the assignment ended for this worker. */
export type RunnerOutcome = 'finished' | 'failed' | 'aborted' | 'paused';

export async function runAssignment(ctx: RunnerContext, a: Assignment, signal: AbortSignal): Promise<RunnerOutcome> {
  const fields = { job: a.jobId, rank: a.rank, generation: a.generation };
  const { logger, nc } = ctx;
  logger?.info({ ...fields, worldSize: a.worldSize }, 'assigned');
  const timeoutMs = a.allreduceTimeoutSeconds * 1000;
  const bus = new NatsBus(nc);
  const collective = new Collective({
    bus: ctx.faults ? ctx.faults.bus(bus) : bus,
    jobId: a.jobId,
    generation: a.generation,
    rank: a.rank,
    worldSize: a.worldSize,
    timeoutMs,
    startTimeoutMs: Math.max(timeoutMs, START_TIMEOUT_MS),
    ...communicationOptions(a.spec?.communication),
  });
  const session = ctx.sessions.for(a.jobId);
  const retry = { signal, onRetry: (err: unknown, attempt: number, delayMs: number) => logger?.warn({ ...fields, attempt, delayMs, err: String(err) }, 'NATS request failed; retrying') };
  try {
    // The data first, then the peers: a download never runs inside the peers' step timeout.
    const datasetName = a.spec!.dataset!.name;
    // Only the rank that evaluates reads the held-out split (as it evaluates).
    const dataset = isBuiltinDataset(datasetName) ? loadDataset(datasetName) : await retryTransient(() => loadUserDataset(nc, datasetName, { heldout: a.rank === 0 }), retry);
    await ctx.kernels.check(a, dataset.inputShape);
    const base = a.spec!.model?.base;
    const baseModel = base ? await retryTransient(() => loadBaseArtifacts(nc, base.name, Number(base.version)), retry) : undefined;
    await collective.start(signal);
    const { replica, metrics, timeline } = await runJob({
      assignment: a,
      dataset,
      ...(baseModel ? { baseModel } : {}),
      collective,
      signal,
      workerLabel: ctx.workerId,
      session,
      states: objectStates(nc, a.jobId, logger, signal),
      leaving: ctx.leaving,
      ...(ctx.faults ? { faults: ctx.faults } : {}),
      onCheckpoint: (step, object) => {
        logger?.info({ ...fields, step, object }, 'checkpoint stored');
        ctx.send({ msg: { $case: 'checkpoint', value: { jobId: a.jobId, generation: a.generation, step, object } } });
      },
      onCheckpointFailed: (step, err) => logger?.warn({ ...fields, step, err: String(err) }, 'checkpoint not stored; training goes on'),
      onBestWeights: (step, value) => logger?.info({ ...fields, step, value }, 'publishing the weights of the best held-out evaluation (training.publishBest)'),
      onStep: (m) => {
        if (a.rank === 0) ctx.send({ msg: { $case: 'step', value: { jobId: a.jobId, generation: a.generation, metrics: m } } });
      },
    });
    // Rank 0 publishes. The others keep their state until the coordinator ends the job: if rank 0
    // is lost now, one of them takes over from the finished state without training again.
    const artifactPrefix = a.rank === 0 ? await publishModel(nc, a, replica, { ...(logger ? { logger } : {}), ...(ctx.faults ? { faults: ctx.faults } : {}), ...(dataset.classNames ? { classNames: dataset.classNames } : {}), signal }) : '';
    if (a.rank === 0) ctx.sessions.drop(a.jobId);
    logger?.info({ ...fields, accuracy: metrics.accuracy, loss: metrics.loss, ...(metrics.earlyStop ? { stoppedEarlyAt: metrics.earlyStop.step, stoppedBecause: metrics.earlyStop.reason } : {}) }, a.rank === 0 ? 'finished and published' : 'finished training');
    const trace = Buffer.from(timeline ? JSON.stringify(timeline) : '');
    ctx.send({ msg: { $case: 'finished', value: { jobId: a.jobId, generation: a.generation, metrics, artifactPrefix, timeline: trace } } });
    // The other ranks wait while rank 0 uploads.
    if (a.rank !== 0) ctx.faults?.check('upload');
    return 'finished';
  } catch (err) {
    if (err instanceof RanksLeavingError) {
      logger?.info({ ...fields, step: err.step, leaving: err.ranks }, 'stopped at a step boundary: ranks leave');
      return 'paused';
    }
    if (signal.aborted) {
      // A new generation or a reconnect goes on from this state; a cancellation frees it.
      if (signal.reason instanceof JobCancelledError) ctx.sessions.drop(a.jobId);
      logger?.info({ ...fields, step: session.step, reason: String(signal.reason) }, 'stopped');
      return 'aborted';
    }
    ctx.sessions.drop(a.jobId);
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    logger?.warn({ ...fields, step: session.step, err: message }, 'failed');
    ctx.send({ msg: { $case: 'failed', value: { jobId: a.jobId, generation: a.generation, error: message } } });
    return 'failed';
  } finally {
    collective.close();
  }
}

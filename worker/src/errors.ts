// Why a worker stopped training a job, as abort reasons; one class each.

/** The coordinator started a new generation of the job (workers lost or added). */
export class GenerationChangedError extends Error {
  constructor(
    readonly jobId: string,
    readonly generation: number,
    options?: { cause?: unknown },
  ) {
    super(`job ${jobId}: generation ${generation} replaces this one`, options);
    this.name = 'GenerationChangedError';
  }
}

export class JobCancelledError extends Error {
  constructor(
    readonly jobId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`job ${jobId} cancelled: ${reason}`, options);
    this.name = 'JobCancelledError';
  }
}

/** The Join stream to the coordinator ended; nobody would collect the result. */
export class CoordinatorLostError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`lost the coordinator: ${reason}`, options);
    this.name = 'CoordinatorLostError';
  }
}

/**
 * Ranks announced in a step that they leave after it (a SIGTERM): every rank of the generation
 * stops there, its state at `step` completed steps, and waits for the generation without them.
 */
export class RanksLeavingError extends Error {
  constructor(
    readonly jobId: string,
    readonly step: number,
    readonly ranks: readonly number[],
    options?: { cause?: unknown },
  ) {
    super(`job ${jobId}: rank${ranks.length === 1 ? '' : 's'} ${ranks.join(', ')} leave${ranks.length === 1 ? 's' : ''} after step ${step}`, options);
    this.name = 'RanksLeavingError';
  }
}

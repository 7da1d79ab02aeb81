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

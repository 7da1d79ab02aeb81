// The coordinator's failures, one class each; src/grpc/status.ts maps them to gRPC status codes.

/** A job spec that cannot run; `field` is the path of the offending field (e.g. `model.layers[1].dense.units`). */
export class InvalidSpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${message}`, options);
    this.name = 'InvalidSpecError';
  }
}

/** A request that is malformed in a way other than its job spec (a missing job id, say). */
export class InvalidRequestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidRequestError';
  }
}

export class JobNotFoundError extends Error {
  constructor(readonly jobId: string, options?: { cause?: unknown }) {
    super(`job ${JSON.stringify(jobId)} not found`, options);
    this.name = 'JobNotFoundError';
  }
}

export class ModelNotFoundError extends Error {
  constructor(readonly model: string, options?: { cause?: unknown }) {
    super(`model ${model} not found`, options);
    this.name = 'ModelNotFoundError';
  }
}

/** The request is valid but the job's state does not allow it (cancelling a finished job, say). */
export class JobStateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobStateError';
  }
}

/** A worker stopped heartbeating or closed its stream while it held a job. */
export class WorkerLostError extends Error {
  constructor(readonly workerId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerLostError';
  }
}

/** An uploaded dataset file that cannot be used; the message names the row or byte offset. */
export class DatasetFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatasetFileError';
  }
}

export class DatasetExistsError extends Error {
  constructor(readonly dataset: string, options?: { cause?: unknown }) {
    super(`dataset ${JSON.stringify(dataset)} already exists; datasets are immutable, upload under a new name`, options);
    this.name = 'DatasetExistsError';
  }
}

/** An upload over the coordinator's size limit. */
export class UploadTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UploadTooLargeError';
  }
}

/** A resumed upload that cannot go on: unknown id, another offset, another header, in use. */
export class UploadResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UploadResumeError';
  }
}

/** The client gave the upload up; it was discarded. */
export class UploadAbortedError extends Error {
  constructor(reason: string) {
    super(`upload abandoned by the client: ${reason}`);
    this.name = 'UploadAbortedError';
  }
}

/** No credential, or one the cluster does not know (or has revoked). */
export class UnauthenticatedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnauthenticatedError';
  }
}

/** A known credential that may not do this. */
export class PermissionDeniedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermissionDeniedError';
  }
}

/** A request over a cluster limit or a user's quota (concurrent jobs, workers). */
export class QuotaExceededError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QuotaExceededError';
  }
}

export class TokenExistsError extends Error {
  constructor(readonly tokenName: string, options?: { cause?: unknown }) {
    super(`a token named ${JSON.stringify(tokenName)} exists already; revoke it first or pick another name`, options);
    this.name = 'TokenExistsError';
  }
}

export class NotFoundError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

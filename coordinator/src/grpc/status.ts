// The one place where coordinator errors become gRPC status codes; handlers just throw.
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { NATS_UNAVAILABLE, isTransientNatsError } from '@syncline/proto';
import {
  DatasetExistsError,
  DatasetFileError,
  InvalidRequestError,
  InvalidSpecError,
  JobNotFoundError,
  JobStateError,
  ModelNotFoundError,
  NotFoundError,
  PermissionDeniedError,
  QuotaExceededError,
  TokenExistsError,
  UnauthenticatedError,
  UploadAbortedError,
  UploadResumeError,
  UploadTooLargeError,
} from '../errors.js';

const codes: [new (...args: never[]) => Error, status][] = [
  [InvalidSpecError, status.INVALID_ARGUMENT],
  [InvalidRequestError, status.INVALID_ARGUMENT],
  [DatasetFileError, status.INVALID_ARGUMENT],
  [DatasetExistsError, status.ALREADY_EXISTS],
  [JobNotFoundError, status.NOT_FOUND],
  [ModelNotFoundError, status.NOT_FOUND],
  [JobStateError, status.FAILED_PRECONDITION],
  [NotFoundError, status.NOT_FOUND],
  [TokenExistsError, status.ALREADY_EXISTS],
  [UnauthenticatedError, status.UNAUTHENTICATED],
  [PermissionDeniedError, status.PERMISSION_DENIED],
  [QuotaExceededError, status.RESOURCE_EXHAUSTED],
  [UploadTooLargeError, status.RESOURCE_EXHAUSTED],
  [UploadResumeError, status.FAILED_PRECONDITION],
  [UploadAbortedError, status.CANCELLED],
];

export function toServiceError(err: unknown): Partial<ServiceError> {
  let message = err instanceof Error ? err.message : String(err);
  let code = codes.find(([cls]) => err instanceof cls)?.[1];
  if (code === undefined && isTransientNatsError(err)) {
    // A passing outage that outlasted the request's retries: UNAVAILABLE, which clients retry.
    code = status.UNAVAILABLE;
    message = `${NATS_UNAVAILABLE} (${message}); try again`;
  }
  code ??= status.INTERNAL;
  const metadata = new Metadata();
  if (err instanceof InvalidSpecError) metadata.set('syncline-field', err.field);
  return { code, details: message, message, metadata };
}

// The one place where coordinator errors become gRPC status codes; handlers just throw.
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { InvalidRequestError, InvalidSpecError, JobNotFoundError, JobStateError, ModelNotFoundError } from '../errors.js';

export function toServiceError(err: unknown): Partial<ServiceError> {
  const message = err instanceof Error ? err.message : String(err);
  const code =
    err instanceof InvalidSpecError || err instanceof InvalidRequestError
      ? status.INVALID_ARGUMENT
      : err instanceof JobNotFoundError || err instanceof ModelNotFoundError
        ? status.NOT_FOUND
        : err instanceof JobStateError
          ? status.FAILED_PRECONDITION
          : status.INTERNAL;
  const metadata = new Metadata();
  if (err instanceof InvalidSpecError) metadata.set('syncline-field', err.field);
  return { code, details: message, message, metadata };
}

// The CLI's failures, one class each, and the one place that turns a failure into an exit code
// (documented in the README's command-line section; scripts rely on them).
import { status } from '@grpc/grpc-js';
export const EXIT = {
  ok: 0,
  /** The job ended without succeeding (FAILED or CANCELLED) while `submit --watch` followed it. */
  jobFailed: 1,
  /** A bad command line, or a local failure that is not about the job file (an unreadable upload). */
  usage: 2,
  /** The job file is not valid: its syntax, its fields, or the coordinator's checks. */
  invalidJobFile: 3,
  /** No coordinator answered at the address tried, or it answered that NATS is unavailable to it. */
  unreachable: 4,
  /** The coordinator answered and refused (unknown job, job already finished, bad dataset file, a quota…). */
  refused: 5,
  /** The coordinator refused the credential: none, unknown or revoked (UNAUTHENTICATED), or too small a role or another user's job (PERMISSION_DENIED). */
  denied: 6,
} as const;

/** One problem in a job file: a field path (`model.layers[0].dense.units`) or a position, or both. */
export interface JobFileProblem {
  field?: string;
  line?: number;
  column?: number;
  message: string;
}

export function problemText(p: JobFileProblem): string {
  const at = p.line !== undefined ? `${p.line}:${p.column}` : undefined;
  if (p.field !== undefined) return `${p.field}: ${p.message}${at ? ` (at ${at})` : ''}`;
  return at ? `${at}: ${p.message}` : p.message;
}

const SHOWN = 20;

export class JobFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly JobFileProblem[],
    options?: { cause?: unknown },
  ) {
    const lines = problems.slice(0, SHOWN).map((p) => `  ${problemText(p)}`);
    if (problems.length > SHOWN) lines.push(`  … and ${problems.length - SHOWN} more`);
    super(`${file} is not a valid job file (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, options);
    this.name = 'JobFileError';
  }
}

export class CoordinatorUnreachableError extends Error {
  constructor(
    readonly address: string,
    /** Why, as a user would act on it: "connection refused: nothing listens there", "unknown host"… */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot reach the coordinator at ${address} (${reason}): start a local cluster with \`syncline up\`, or name a running one with --coordinator host:port or SYNCLINE_COORDINATOR`,
      options,
    );
    this.name = 'CoordinatorUnreachableError';
  }
}

/** The coordinator answered, but its NATS is passing through an outage: the request may be tried again. */
export class NatsUnavailableError extends Error {
  constructor(
    readonly address: string,
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(`the coordinator at ${address} answered: ${details}`, options);
    this.name = 'NatsUnavailableError';
  }
}

/** The coordinator answered with an error status; `field` is set when it rejected a job spec's field. */
export class RequestRefusedError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(details, options);
    this.name = 'RequestRefusedError';
  }
}

/** The coordinator refused the caller: `source` says where the token came from, so the fix is plain. */
export class CredentialRefusedError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    readonly source: string,
    options?: { cause?: unknown },
  ) {
    super(code === status.UNAUTHENTICATED ? `not authenticated: ${details} (used ${source})` : `not allowed: ${details}`, options);
    this.name = 'CredentialRefusedError';
  }
}

/** A bad command line or a local failure (a file to upload that cannot be read). */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof JobFileError) return EXIT.invalidJobFile;
  if (err instanceof CoordinatorUnreachableError || err instanceof NatsUnavailableError) return EXIT.unreachable;
  if (err instanceof RequestRefusedError) return EXIT.refused;
  if (err instanceof CredentialRefusedError) return EXIT.denied;
  return EXIT.usage;
}

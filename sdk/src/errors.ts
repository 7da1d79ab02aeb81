// The SDK's load failures, one class each, so callers can tell "the server said no" from
// "the bytes we got are not the bytes that were published".

/** The model could not be fetched or is not a usable Syncline model.json (HTTP error, network error, bad manifest). */
export class ModelLoadError extends Error {
  /** HTTP status, when the server answered; undefined for network or format failures. */
  readonly status: number | undefined;
  /** The `error` field (or text) of the server's error body, when there was one. */
  readonly serverMessage: string | undefined;

  constructor(
    readonly url: string,
    message: string,
    options?: { status?: number; serverMessage?: string; cause?: unknown },
  ) {
    super(`${message} (${url})`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelLoadError';
    this.status = options?.status;
    this.serverMessage = options?.serverMessage;
  }
}

/** Why a model's signature was refused. */
export const SignatureProblem = {
  /** No signature at all. */
  Unsigned: 'unsigned',
  /** A signature this SDK cannot read. */
  Malformed: 'malformed',
  /** Signed, but by a key not among trustedKeys. */
  UntrustedKey: 'untrusted-key',
  /** The signature does not match model.json's content (altered after signing). */
  BadSignature: 'bad-signature',
} as const;
export type SignatureProblem = (typeof SignatureProblem)[keyof typeof SignatureProblem];

/** A model refused because loadModel was given trustedKeys and its signature does not check out. */
export class ModelSignatureError extends ModelLoadError {
  constructor(
    url: string,
    readonly problem: SignatureProblem,
    message: string,
  ) {
    super(url, `model signature refused (${problem}): ${message}`);
    this.name = 'ModelSignatureError';
  }
}

/** Which integrity check a shard failed. */
export const IntegrityCheck = {
  Sha256: 'sha256',
  ByteLength: 'byteLength',
} as const;
export type IntegrityCheck = (typeof IntegrityCheck)[keyof typeof IntegrityCheck];

/**
 * A weight shard that does not match its manifest: corrupted (sha256) or truncated/padded
 * (byte length). `expected` and `actual` are hex digests or byte counts, depending on `check`.
 */
export class ModelIntegrityError extends Error {
  constructor(
    /** The shard's path as written in model.json (several, comma-separated, for a group-wide size check). */
    readonly shard: string,
    /** The URL the shard came from (likewise several for a group-wide check). */
    readonly url: string,
    readonly check: IntegrityCheck,
    readonly expected: string | number,
    readonly actual: string | number,
    options?: { cause?: unknown },
  ) {
    super(`weight shard ${shard} failed its ${check} check: expected ${expected}, got ${actual} (${url})`, options);
    this.name = 'ModelIntegrityError';
  }
}

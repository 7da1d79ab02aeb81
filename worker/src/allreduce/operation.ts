// One pending collective call. It settles exactly once (result, timeout, abort or close) and then
// drops its timer and abort listener, so nothing keeps the process alive after it.
import { AllReduceAbortedError } from './errors.js';

export interface OperationOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Builds the timeout error when the timer fires, so it can say what is missing at that moment. */
  onTimeout: () => Error;
  /** Runs once on settling, whichever way. */
  onSettled: () => void;
}

export class Operation<T> {
  readonly promise: Promise<T>;
  private resolvePromise!: (value: T) => void;
  private rejectPromise!: (error: unknown) => void;
  private settled = false;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onAbort: () => void;

  /** The caller checks `signal.aborted` first: an operation never settles inside its constructor. */
  constructor(
    readonly name: string,
    private readonly opts: OperationOptions,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
    this.timer = setTimeout(() => this.reject(opts.onTimeout()), opts.timeoutMs);
    this.onAbort = () => this.reject(new AllReduceAbortedError(name, { cause: opts.signal?.reason }));
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get done(): boolean {
    return this.settled;
  }

  resolve(value: T): void {
    if (this.finish()) this.resolvePromise(value);
  }

  reject(error: unknown): void {
    if (this.finish()) this.rejectPromise(error);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.opts.onSettled();
    return true;
  }
}

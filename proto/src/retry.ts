// Riding out a NATS outage: a server restart, or the loss of one node of a cluster while
// JetStream elects new leaders. Coordinator and workers retry JetStream requests that failed
// for such a passing reason, with backoff, instead of failing a job; and reconnect with the
// same backoff. (Kept free of the nats package: errors are classified by their code and text.)
import type { Logger } from './logging.js';

const TRANSIENT_CODES = new Set(['TIMEOUT', '503', '408', 'DISCONNECT', 'CONNECTION_REFUSED', 'CONNECTION_TIMEOUT', 'REQUEST_ERROR']);
const TRANSIENT_TEXT = /timeout|timed out|temporarily unavailable|not available|no responders|disconnect|not connected|stale connection|no suitable peers|leader|insufficient resources|reconnect/i;

/**
 * How the coordinator words a passing NATS outage to its clients (gRPC UNAVAILABLE, HTTP 503),
 * followed by the error; the CLI tells it from a coordinator it cannot reach by this start.
 */
export const NATS_UNAVAILABLE = 'NATS is unavailable to the coordinator';

/** Whether `err` (from nats.js) says the server or cluster is passing through an outage. */
export function isTransientNatsError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  const api = (err as { api_error?: { code?: number; description?: string } }).api_error;
  if (api && (api.code === 503 || api.code === 500 || TRANSIENT_TEXT.test(api.description ?? ''))) return true;
  return TRANSIENT_TEXT.test(err.message);
}

/** Milliseconds before retry `attempt` (0, 1, …): doubling from 250 ms to `maxMs`, with up to 25% jitter. */
export function backoffMs(attempt: number, maxMs = 5_000): number {
  const base = Math.min(maxMs, 250 * 2 ** Math.min(attempt, 5));
  return Math.round(base * (1 + Math.random() * 0.25));
}

export interface RetryOptions {
  /** Gives up (with the last error) once this much time has passed; default 10 minutes. */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Told about each retry, to log it. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn`, retrying it after transient NATS errors; other errors, and the last one, are thrown. */
export async function retryTransient<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.deadlineMs ?? 10 * 60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      opts.signal?.throwIfAborted();
      const delay = backoffMs(attempt);
      if (!isTransientNatsError(err) || Date.now() + delay > deadline) throw err;
      opts.onRetry?.(err, attempt, delay);
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          reject(opts.signal!.reason);
        };
        const timer = setTimeout(() => {
          opts.signal?.removeEventListener('abort', onAbort);
          resolve();
        }, delay);
        opts.signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}

/** `nats://a:4222,nats://b:4222` → the list of server URLs (one or more). */
export function natsServers(urls: string): string[] {
  const list = urls
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
  if (list.length === 0) throw new RangeError(`no NATS server URL in ${JSON.stringify(urls)}`);
  return list;
}

/** What nats.js reports on a connection's status() stream (the fields used here). */
export interface NatsStatus {
  type: string;
  data: unknown;
}

/**
 * Reconnection as coordinator and workers do it: every server of the list, retried for as long
 * as it takes with backoff (per round through the list), each loss and return logged.
 */
export class ReconnectPolicy {
  private attempt = 0;

  /** Options for nats.js connect(): `urls` comma-separated. */
  options(urls: string, name: string) {
    return {
      servers: natsServers(urls),
      name,
      maxReconnectAttempts: -1,
      // Capped low: a server back from a restart is found within about two seconds.
      reconnectDelayHandler: () => backoffMs(this.attempt++, 2_000),
    };
  }

  /** Follows a connection's status() stream: logs, resets the backoff and calls `onReconnect` after each reconnect. */
  async watch(statuses: AsyncIterable<NatsStatus>, logger?: Logger, onReconnect?: () => void): Promise<void> {
    for await (const status of statuses) {
      const server = typeof status.data === 'string' ? status.data : undefined;
      if (status.type === 'disconnect') logger?.warn({ server }, 'NATS connection lost; reconnecting');
      if (status.type === 'reconnect') {
        this.attempt = 0;
        logger?.info({ server }, 'NATS connection back');
        onReconnect?.();
      }
    }
  }
}

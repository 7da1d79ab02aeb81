// Asking again what may pass: a network failure, or a registry that answers 502, 503 or 504 (a
// proxy between pods, or the coordinator riding out a NATS outage), is retried a few times with
// growing pauses, honouring Retry-After; any other answer is final and returned at once.
import type { Fetch } from './http.js';

/** Retries after the first attempt, unless LoadOptions.retries says otherwise. */
export const DEFAULT_RETRIES = 2;
const RETRIED_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);
/** The longest pause taken, whatever Retry-After asks. */
const MAX_PAUSE_MS = 10_000;

/** Whether a failure with this HTTP status (undefined: no answer at all) may pass if asked again. */
export function mayPass(status: number | undefined): boolean {
  return status === undefined || RETRIED_STATUSES.has(status);
}

/** Pause before retry `attempt` (0, 1, …): 250 ms, doubling. */
export function backoffMs(attempt: number): number {
  return Math.min(MAX_PAUSE_MS, 250 * 2 ** attempt);
}

/** Retry-After as milliseconds (its seconds form; a date form is not worth the clock skew), capped. */
function retryAfterMs(response: Response): number | undefined {
  const value = response.headers.get('retry-after')?.trim();
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Math.min(MAX_PAUSE_MS, Number(value) * 1000);
}

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `fetchFn`, asking up to `retries` more times after a failure that may pass. */
export function withRetries(fetchFn: Fetch, retries: number, sleep: (ms: number) => Promise<void> = pause): Fetch {
  if (!(retries > 0)) return fetchFn;
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetchFn(input, init);
      } catch (err) {
        // A caller's abort is not a failure to retry.
        if (attempt >= retries || (err instanceof Error && err.name === 'AbortError')) throw err;
        await sleep(backoffMs(attempt));
        continue;
      }
      if (attempt >= retries || !mayPass(response.status)) return response;
      // Its body is not wanted: release the connection.
      await response.body?.cancel().catch(() => undefined);
      await sleep(retryAfterMs(response) ?? backoffMs(attempt));
    }
  };
}

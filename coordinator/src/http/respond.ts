// Writing HTTP answers: open CORS on every answer (the SDK and the dashboard are loaded from
// any origin), JSON errors, and the status an error carries.
import type { ServerResponse } from 'node:http';
import { NATS_UNAVAILABLE, isTransientNatsError } from '@syncline/proto';

export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'x-syncline-version, content-length, content-range, accept-ranges, etag',
};

/** A request the server refuses; its message goes back as `{"error": ...}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function send(res: ServerResponse, status: number, body: string | Uint8Array, headers: Record<string, string>): void {
  res.writeHead(status, {
    ...CORS,
    ...headers,
    // A 304 has no body; a length here would describe the cached one, which we do not know.
    ...(status !== 304 && { 'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength) }),
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, cache = REVALIDATE): void {
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json', 'cache-control': cache });
}

/** Whether an If-None-Match header names `etag` (a list, or `*`). */
export function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header === etag) return true;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/**
 * The answer to a failed request: an HttpError's status; a passing NATS outage 503 with
 * Retry-After, which clients (the SDK) ask again after; anything else 500.
 */
export function sendError(res: ServerResponse, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof HttpError) return sendJson(res, err.status, { error: message });
  if (!isTransientNatsError(err)) return sendJson(res, 500, { error: message });
  send(res, 503, JSON.stringify({ error: `${NATS_UNAVAILABLE} (${message}); try again` }), { 'content-type': 'application/json', 'cache-control': REVALIDATE, 'retry-after': '1' });
}

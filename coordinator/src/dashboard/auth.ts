// The one place where the dashboard's requests are let in or not. Today every request is
// (the cluster has no credentials yet); the hook takes the bearer token the page sends, from
// the Authorization header or, for clients that cannot set headers on a stream, from the
// `access_token` query parameter (RFC 6750 §2.3).
import type { IncomingMessage } from 'node:http';

/** Whether a request carrying `token` (undefined: none) may read the dashboard's API. */
export type Authorize = (token: string | undefined) => boolean | Promise<boolean>;

export const allowAll: Authorize = () => true;

export function bearerToken(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = req.headers.authorization;
  const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1] ?? query.get('access_token') ?? undefined;
}

// The one place where the dashboard's requests are let in or not: the bearer token the page
// sends, from the Authorization header or, for clients that cannot set headers on a stream,
// from the `access_token` query parameter (RFC 6750 §2.3). The dashboard shows every job of
// every user, so it takes admin and reader tokens.
import type { IncomingMessage } from 'node:http';
import type { TokenStore } from '../auth/token-store.js';

/** Whether a request carrying `token` (undefined: none) may read the dashboard's API. */
export type Authorize = (token: string | undefined) => boolean | Promise<boolean>;

export function dashboardAuthorize(tokens: TokenStore): Authorize {
  return async (token) => {
    if (!token) return false;
    const who = await tokens.verify(token).catch(() => undefined);
    return who?.role === 'admin' || who?.role === 'reader';
  };
}

export function bearerToken(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = req.headers.authorization;
  const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1] ?? query.get('access_token') ?? undefined;
}

// Pages of a list in a stable order: the page token is the sort key of the last item sent, so a
// job added or deleted between two pages neither repeats nor skips the others.
import { InvalidRequestError } from '../errors.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** `items` must be sorted by `key` (ascending, unique). */
export function pageOf<T>(items: readonly T[], pageSize: number, pageToken: string, key: (item: T) => string): { items: T[]; nextPageToken: string } {
  if (pageSize > MAX_PAGE_SIZE) throw new InvalidRequestError(`pageSize: at most ${MAX_PAGE_SIZE}, got ${pageSize}`);
  const size = pageSize || DEFAULT_PAGE_SIZE;
  let start = 0;
  if (pageToken) {
    const after = decodeToken(pageToken);
    start = items.findIndex((item) => compareKeys(key(item), after) > 0);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + size);
  const more = start + size < items.length;
  return { items: page, nextPageToken: more ? Buffer.from(key(page.at(-1)!)).toString('base64url') : '' };
}

function decodeToken(token: string): string {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text || Buffer.from(text).toString('base64url') !== token) throw new InvalidRequestError('pageToken: not a token this server gave out (pass nextPageToken as it came)');
  return text;
}

/** Keys are `<number>:<text>`: numbers compare as numbers. */
function compareKeys(a: string, b: string): number {
  const [an, ...ar] = a.split(':');
  const [bn, ...br] = b.split(':');
  return Number(an) - Number(bn) || ar.join(':').localeCompare(br.join(':'));
}

// Token secrets: 32 random bytes, stored only as their sha256 and compared in constant time.
// A token's id (what `syncline token list` shows and `revoke` takes) is the start of that
// digest, so any string can be a token (a Kubernetes Secret made with openssl included) and
// the id reveals nothing usable.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'syncline_';

export function newToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenId(digest: string): string {
  return digest.slice(0, 16);
}

export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The secrets a cluster starts with: an admin token for people, one shared token for its workers. */
export interface ClusterSecrets {
  adminToken: string;
  workerToken: string;
}

export function generateSecrets(): ClusterSecrets {
  return { adminToken: newToken(), workerToken: newToken() };
}

/** A token given from outside (a Secret, a flag) must be hard to guess. */
export function checkBootstrapToken(what: string, token: string): void {
  if (token.length < 32) throw new Error(`${what} must be at least 32 characters (generate one with: openssl rand -base64 32)`);
}

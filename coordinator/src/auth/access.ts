// What a caller may do with one job, model or dataset. Admins and readers see every job (a
// reader is an observer: dashboards, monitoring); a user sees and changes only its own. Only
// owners and admins change or delete anything.
import { PermissionDeniedError } from '../errors.js';
import type { Principal } from './principal.js';

export function seesEverything(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'reader';
}

/** Throws unless `p` may read what `owner` owns (jobs: their record, log, timeline, watch). */
export function requireRead(p: Principal, owner: string, what: string): void {
  if (seesEverything(p) || p.name === owner) return;
  throw new PermissionDeniedError(`${what} belongs to another user; "${p.name}" sees only its own`);
}

/** Throws unless `p` may change or delete what `owner` owns. */
export function requireOwner(p: Principal, owner: string, what: string): void {
  if (p.role === 'admin' || (p.role === 'user' && p.name === owner)) return;
  throw new PermissionDeniedError(owner ? `${what} belongs to "${owner}"; only its owner or an admin may change it` : `${what} can be changed by an admin only`);
}

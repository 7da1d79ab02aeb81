// What each kind of token may do. Roles are ranked for the JobService (admin > user > reader);
// the worker role is apart: it joins the cluster and calls nothing else.
import { TokenRole } from '@syncline/proto';

export const ROLES = ['admin', 'user', 'reader', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { admin: 3, user: 2, reader: 1, worker: 0 };

/** Whether `role` may do what needs `least` (worker tokens only ever satisfy `worker`). */
export function roleAllows(role: Role, least: Role): boolean {
  if (least === 'worker' || role === 'worker') return role === least;
  return RANK[role] >= RANK[least];
}

export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

const TO_PROTO: Record<Role, TokenRole> = {
  admin: TokenRole.TOKEN_ROLE_ADMIN,
  user: TokenRole.TOKEN_ROLE_USER,
  reader: TokenRole.TOKEN_ROLE_READER,
  worker: TokenRole.TOKEN_ROLE_WORKER,
};

export function roleToProto(role: Role): TokenRole {
  return TO_PROTO[role];
}

export function roleFromProto(role: TokenRole): Role | undefined {
  return ROLES.find((r) => TO_PROTO[r] === role);
}

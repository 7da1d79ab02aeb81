// `syncline token create|list|revoke` (admin tokens only; the coordinator checks).
import { TokenRole, type TokenInfo } from '@syncline/proto';
import { SynclineClient } from '../client.js';
import type { ConnectOptions } from '../config.js';
import { UsageError } from '../errors.js';

const ROLES: Record<string, TokenRole> = { admin: TokenRole.TOKEN_ROLE_ADMIN, user: TokenRole.TOKEN_ROLE_USER, reader: TokenRole.TOKEN_ROLE_READER };

export function roleName(role: TokenRole): string {
  return (TokenRole[role] ?? String(role)).replace('TOKEN_ROLE_', '').toLowerCase();
}

function describe(t: TokenInfo): string {
  const state = t.revokedUnixMs ? `revoked ${new Date(t.revokedUnixMs).toISOString()}` : 'valid';
  return `${t.id}  ${t.name}  ${roleName(t.role)}  created ${new Date(t.createdUnixMs).toISOString()} by ${t.createdBy}  ${state}`;
}

export async function create(opts: ConnectOptions & { name: string; role: string }): Promise<void> {
  const role = ROLES[opts.role];
  if (role === undefined) throw new UsageError(`--role must be one of ${Object.keys(ROLES).join(', ')}, got ${JSON.stringify(opts.role)}`);
  const client = await SynclineClient.open(opts);
  try {
    const { token, info } = await client.createToken(opts.name, role);
    // The secret on stdout alone (for scripts); what it is on stderr.
    console.error(`created ${info ? describe(info) : opts.name}; the token is shown this once:`);
    console.log(token);
  } finally {
    client.close();
  }
}

export async function list(opts: ConnectOptions): Promise<void> {
  const client = await SynclineClient.open(opts);
  try {
    for (const t of await client.tokens()) console.log(describe(t));
  } finally {
    client.close();
  }
}

export async function revoke(nameOrId: string, opts: ConnectOptions): Promise<void> {
  const client = await SynclineClient.open(opts);
  try {
    console.log(describe(await client.revokeToken(nameOrId)));
  } finally {
    client.close();
  }
}

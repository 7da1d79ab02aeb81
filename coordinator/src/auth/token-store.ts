// Access tokens in a JetStream key-value bucket, by id. Only each token's sha256 is stored; a
// presented token is looked up by the id its digest gives and compared in constant time.
// Revoked tokens stay listed (with the time) and never verify again. Every check reads the
// bucket, so a revocation holds at once on every coordinator.
import { BUCKETS, retryTransient, type TokenInfo } from '@syncline/proto';
import type { KV, NatsConnection } from 'nats';
import { InvalidRequestError, NotFoundError, TokenExistsError, UnauthenticatedError } from '../errors.js';
import { kvKeys } from '../store/kv-keys.js';
import type { Principal } from './principal.js';
import { roleToProto, type Role } from './roles.js';
import { newToken, sameDigest, tokenDigest, tokenId } from './secrets.js';

interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  digest: string;
  createdUnixMs: number;
  createdBy: string;
  revokedUnixMs?: number;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export class TokenStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<TokenStore> {
    return new TokenStore(nc, await nc.jetstream().views.kv(BUCKETS.tokens, { history: 1 }));
  }

  /**
   * Makes a token the cluster was started with known (the admin token, the workers' token).
   * Never overwrites: a bootstrap token revoked by an admin stays revoked across restarts.
   */
  async bootstrap(token: string, name: string, role: Role): Promise<void> {
    const digest = tokenDigest(token);
    const record: TokenRecord = { id: tokenId(digest), name, role, digest, createdUnixMs: Date.now(), createdBy: 'cluster start' };
    await retryTransient(async () => {
      if (await this.read(record.id)) return;
      await this.kv.create(record.id, JSON.stringify(record)).catch(async (err: unknown) => {
        if (!(await this.read(record.id))) throw err;
      });
    });
  }

  /** A new token; the secret is returned here and stored nowhere. */
  async create(name: string, role: Role, createdBy: string): Promise<{ token: string; info: TokenInfo }> {
    if (!NAME_PATTERN.test(name)) {
      throw new InvalidRequestError(`name: ${JSON.stringify(name)} must be 1 to 64 letters, digits, '.', '@', '-' or '_', starting with a letter or digit`);
    }
    if ((await this.records()).some((r) => r.name === name && !r.revokedUnixMs)) throw new TokenExistsError(name);
    const token = newToken();
    const digest = tokenDigest(token);
    const record: TokenRecord = { id: tokenId(digest), name, role, digest, createdUnixMs: Date.now(), createdBy };
    await this.kv.create(record.id, JSON.stringify(record));
    return { token, info: toInfo(record) };
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.records()).sort((a, b) => a.createdUnixMs - b.createdUnixMs).map(toInfo);
  }

  /** Revokes the token with this id, or the one valid token with this name. */
  async revoke(nameOrId: string): Promise<TokenInfo> {
    if (!nameOrId) throw new InvalidRequestError('token: a token name or id is required');
    const records = await this.records();
    const record = records.find((r) => r.id === nameOrId) ?? records.find((r) => r.name === nameOrId && !r.revokedUnixMs);
    if (!record) throw new NotFoundError(`no valid token has the name or id ${JSON.stringify(nameOrId)} (see syncline token list)`);
    if (!record.revokedUnixMs) {
      record.revokedUnixMs = Date.now();
      await this.kv.put(record.id, JSON.stringify(record));
    }
    return toInfo(record);
  }

  /** Who presents `token`, or UnauthenticatedError saying why not. */
  async verify(token: string | undefined): Promise<Principal> {
    if (!token) {
      throw new UnauthenticatedError('no credential: send a token in the authorization metadata ("Bearer <token>"); `syncline up` writes one to its config file');
    }
    const digest = tokenDigest(token);
    const record = await this.read(tokenId(digest));
    if (!record || !sameDigest(record.digest, digest)) throw new UnauthenticatedError('the token is not valid for this cluster');
    if (record.revokedUnixMs) {
      throw new UnauthenticatedError(`the token "${record.name}" was revoked at ${new Date(record.revokedUnixMs).toISOString()}; ask an admin for a new one`);
    }
    return { id: record.id, name: record.name, role: record.role };
  }

  private async read(id: string): Promise<TokenRecord | undefined> {
    const entry = await retryTransient(() => this.kv.get(id));
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return entry.json<TokenRecord>();
  }

  private async records(): Promise<TokenRecord[]> {
    const out: TokenRecord[] = [];
    for (const id of await kvKeys(this.nc, BUCKETS.tokens)) {
      const r = await this.read(id);
      if (r) out.push(r);
    }
    return out;
  }
}

function toInfo(r: TokenRecord): TokenInfo {
  return { id: r.id, name: r.name, role: roleToProto(r.role), createdUnixMs: r.createdUnixMs, revokedUnixMs: r.revokedUnixMs ?? 0, createdBy: r.createdBy };
}

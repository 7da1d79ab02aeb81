// Mints the account's users: the coordinator's own (everything within the account) and one per
// worker assignment (workerPermissions, expiring). Each user gets a fresh nkey; its seed travels
// with the JWT to whoever connects as it.
import { randomBytes } from 'node:crypto';
import { encodeUser } from 'nats-jwt';
import { createUser, fromSeed, type KeyPair } from 'nkeys.js';
import type { NatsCredentials } from '@syncline/proto';
import type { NatsAccountKey } from './account.js';
import { workerPermissions, type BaseModelAccess } from './permissions.js';

/** How long a worker's credentials stay valid by default: longer than any one assignment should last. */
export const DEFAULT_WORKER_CREDENTIAL_TTL_SECONDS = 7 * 24 * 3600;

const UNLIMITED_USER = { subs: -1, data: -1, payload: -1 };

export class NatsCredentialIssuer {
  private readonly signer: KeyPair;

  constructor(
    private readonly key: NatsAccountKey,
    private readonly opts: { workerTtlSeconds?: number } = {},
  ) {
    this.signer = fromSeed(new TextEncoder().encode(key.signingKey));
  }

  /** The coordinator's own user: no permission limits within the account, no expiry. */
  async coordinator(): Promise<NatsCredentials> {
    return this.mint('syncline-coordinator', {});
  }

  /** A user for one assignment of `jobId` (training on user dataset `dataset`, if any). */
  async worker(job: { jobId: string; dataset?: string; base?: BaseModelAccess }): Promise<NatsCredentials> {
    // A prefix of its own, so that no other user can subscribe to this one's replies.
    const inboxPrefix = `_INBOX_${randomBytes(12).toString('hex')}`;
    const ttl = this.opts.workerTtlSeconds ?? DEFAULT_WORKER_CREDENTIAL_TTL_SECONDS;
    return this.mint(`syncline-worker-${job.jobId}`, workerPermissions(job, inboxPrefix), Math.floor(Date.now() / 1000) + ttl, inboxPrefix);
  }

  private async mint(name: string, permissions: object, exp?: number, inboxPrefix = ''): Promise<NatsCredentials> {
    const user = createUser();
    const jwt = await encodeUser(name, user, this.signer, { issuer_account: this.key.account, ...UNLIMITED_USER, ...permissions }, exp === undefined ? {} : { exp });
    return { jwt, seed: new TextDecoder().decode(user.getSeed()), inboxPrefix };
  }
}

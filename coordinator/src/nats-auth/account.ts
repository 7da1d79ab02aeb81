// The NATS trust chain (decentralized JWT authentication): an operator, a system account for the
// server, and the one account Syncline runs in. The coordinator holds the account's signing key
// and mints every user of the account (itself, and one user per worker assignment); nats-server
// knows only the operator and the account JWTs, so it refuses any client without a user JWT
// signed by that key.
import { readFile } from 'node:fs/promises';
import { encodeAccount, encodeOperator } from 'nats-jwt';
import { createAccount, createOperator, fromPublic, fromSeed } from 'nkeys.js';

/** What the coordinator needs to mint users: the account's public key and a signing key's seed. */
export interface NatsAccountKey {
  /** The account's public nkey (starts with A). */
  account: string;
  /** The seed of a signing key listed in the account JWT (starts with SA). */
  signingKey: string;
}

/** Everything nats-server needs, plus the key the coordinator gets. */
export interface NatsTrust {
  operatorJwt: string;
  systemAccount: string;
  systemAccountJwt: string;
  account: string;
  accountJwt: string;
  accountKey: NatsAccountKey;
}

export class NatsAccountKeyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NatsAccountKeyError';
  }
}

const UNLIMITED_ACCOUNT = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

/** A fresh operator, system account and Syncline account with its signing key. */
export async function createNatsTrust(): Promise<NatsTrust> {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const signing = createAccount();
  const operatorJwt = await encodeOperator('syncline', operator, { system_account: system.getPublicKey() });
  const systemAccountJwt = await encodeAccount('SYS', system, {}, { signer: operator });
  // JetStream is enabled for an account only through limits in its JWT.
  const accountJwt = await encodeAccount('syncline', account, { signing_keys: [signing.getPublicKey()], limits: UNLIMITED_ACCOUNT }, { signer: operator });
  return {
    operatorJwt,
    systemAccount: system.getPublicKey(),
    systemAccountJwt,
    account: account.getPublicKey(),
    accountJwt,
    accountKey: { account: account.getPublicKey(), signingKey: new TextDecoder().decode(signing.getSeed()) },
  };
}

/** The lines of a nats-server configuration that make it trust `trust` and nothing else (nats-server 2.9+). */
export function natsServerTrustConfig(trust: NatsTrust): string {
  return [
    `operator: ${JSON.stringify(trust.operatorJwt)}`,
    `system_account: ${trust.systemAccount}`,
    // Account JWTs are given here, not looked up: no account server to run.
    'resolver: MEMORY',
    `resolver_preload: { ${trust.account}: ${JSON.stringify(trust.accountJwt)}, ${trust.systemAccount}: ${JSON.stringify(trust.systemAccountJwt)} }`,
  ].join('\n');
}

/** Checks the shape of a key (a JSON object as written by `syncline nats-trust` or `syncline up`). */
export function parseNatsAccountKey(value: unknown, source = 'the NATS account key'): NatsAccountKey {
  const v = value as Partial<NatsAccountKey> | null;
  if (typeof v !== 'object' || v === null || typeof v.account !== 'string' || typeof v.signingKey !== 'string') {
    throw new NatsAccountKeyError(`${source}: expected {"account": "A…", "signingKey": "SA…"}`);
  }
  try {
    fromPublic(v.account);
    fromSeed(new TextEncoder().encode(v.signingKey));
  } catch (err) {
    throw new NatsAccountKeyError(`${source}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!v.account.startsWith('A') || !v.signingKey.startsWith('SA')) throw new NatsAccountKeyError(`${source}: "account" must be an account public key (A…) and "signingKey" an account seed (SA…)`);
  return { account: v.account, signingKey: v.signingKey };
}

/** Reads a key file (JSON). */
export async function readNatsAccountKey(path: string): Promise<NatsAccountKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new NatsAccountKeyError(`cannot read the NATS account key ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NatsAccountKeyError(`${path} is not JSON`, { cause: err });
  }
  return parseNatsAccountKey(json, path);
}

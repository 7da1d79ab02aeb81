// A worker's NATS connection: one or more servers (a cluster), reconnecting for as long as it
// takes with backoff, saying so in the log; peers of the collective learn of each reconnect
// (to ask again for what the outage lost, collective.ts). A worker connects once per assignment,
// as the user the coordinator minted for it (allowed that job alone).
import { EventEmitter } from 'node:events';
import { ReconnectPolicy, type Logger, type NatsCredentials } from '@syncline/proto';
import { connect, jwtAuthenticator, type NatsConnection } from 'nats';

const reconnectEvents = new WeakMap<NatsConnection, EventEmitter>();

export interface ConnectOptions {
  name?: string;
  logger?: Logger;
  /** PEM of the CA(s) the servers' certificates chain to: TLS, trusting them. */
  ca?: string;
  /** Keep trying the first connection too (a server may be down when an assignment arrives). */
  waitOnFirstConnect?: boolean;
}

/** Connects to any of `urls` (comma-separated) as `credentials`; bounded first attempt unless told otherwise, unbounded reconnects. */
export async function connectNats(urls: string, credentials: NatsCredentials, opts: ConnectOptions = {}): Promise<NatsConnection> {
  const policy = new ReconnectPolicy();
  const logger = opts.logger;
  const nc = await connect({
    ...policy.options(urls, opts.name ?? 'syncline-worker'),
    timeout: 5_000,
    pingInterval: 10_000,
    maxPingOut: 3,
    authenticator: jwtAuthenticator(credentials.jwt, new TextEncoder().encode(credentials.seed)),
    ...(credentials.inboxPrefix ? { inboxPrefix: credentials.inboxPrefix } : {}),
    ...(opts.waitOnFirstConnect ? { waitOnFirstConnect: true } : {}),
    ...(opts.ca ? { tls: { ca: opts.ca } } : {}),
  });
  const events = new EventEmitter();
  reconnectEvents.set(nc, events);
  void policy.watch(nc.status(), logger, () => events.emit('reconnect'));
  return nc;
}

/** Calls `listener` after each reconnect of `nc`; returns the function that stops it. */
export function onReconnect(nc: NatsConnection, listener: () => void): () => void {
  const events = reconnectEvents.get(nc);
  if (!events) return () => undefined;
  events.on('reconnect', listener);
  return () => events.off('reconnect', listener);
}

// A worker's NATS connection: one or more servers (a cluster), reconnecting for as long as it
// takes with backoff, saying so in the log; peers of the collective learn of each reconnect
// (to ask again for what the outage lost, collective.ts).
import { EventEmitter } from 'node:events';
import { ReconnectPolicy, type Logger } from '@syncline/proto';
import { connect, type NatsConnection } from 'nats';

const reconnectEvents = new WeakMap<NatsConnection, EventEmitter>();

/** Connects to any of `urls` (comma-separated); bounded first attempt, unbounded reconnects. */
export async function connectNats(urls: string, name?: string, logger?: Logger): Promise<NatsConnection> {
  const policy = new ReconnectPolicy();
  const nc = await connect({ ...policy.options(urls, name ?? 'syncline-worker'), timeout: 5_000, pingInterval: 10_000, maxPingOut: 3 });
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

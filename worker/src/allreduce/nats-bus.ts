// MessageBus over a core NATS connection (at-most-once, no replay: the collective's barrier copes with that).
import { connect, type NatsConnection } from 'nats';
import type { MessageBus, Subscription } from './bus.js';

export class NatsBus implements MessageBus {
  readonly maxPayload: number;

  constructor(private readonly nc: NatsConnection) {
    const maxPayload = nc.info?.max_payload;
    // Chunk sizes are derived from this once; a connection without server info cannot size them.
    if (maxPayload === undefined) throw new Error('NATS connection has no server info yet (not connected?)');
    this.maxPayload = maxPayload;
  }

  publish(subject: string, data: Uint8Array): void {
    this.nc.publish(subject, data);
  }

  subscribe(subject: string, onMessage: (data: Uint8Array) => void): Subscription {
    // A subscription error (e.g. a permissions violation) has no receiver here: the collective sees
    // it as missing messages and times out, and the connection's status() stream carries the cause.
    return this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err === null) onMessage(msg.data);
      },
    });
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }
}

/** Connects with bounded waits, so an unreachable or vanished server fails instead of hanging. */
export async function connectNats(url: string, name?: string): Promise<NatsConnection> {
  return connect({
    servers: url,
    name,
    timeout: 5_000,
    maxReconnectAttempts: 10,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    maxPingOut: 3,
  });
}

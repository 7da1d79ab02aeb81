// MessageBus over a core NATS connection (at-most-once, no replay: the collective's barrier and
// its requests for lost frames cope with that).
import type { NatsConnection } from 'nats';
import { onReconnect } from '../nats-connection.js';
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

  onReconnect(listener: () => void): () => void {
    return onReconnect(this.nc, listener);
  }
}

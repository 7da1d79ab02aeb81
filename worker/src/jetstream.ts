// JetStream as workers use it: requests may wait long, since training blocks a worker's event
// loop for whole steps and a reply read late must not count as lost.
import type { JetStreamClient, NatsConnection } from 'nats';

export const JETSTREAM_TIMEOUT_MS = 60_000;

export function jetstream(nc: NatsConnection): JetStreamClient {
  return nc.jetstream({ timeout: JETSTREAM_TIMEOUT_MS });
}

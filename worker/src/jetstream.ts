// JetStream as workers use it. Requests may wait a while, since training blocks a worker's event
// loop for whole steps and a reply read late should not count as lost; not too long, since a
// reply lost with a cluster node is only retried (retryTransient) once the request times out.
import type { JetStreamClient, NatsConnection } from 'nats';

export const JETSTREAM_TIMEOUT_MS = 15_000;

export function jetstream(nc: NatsConnection): JetStreamClient {
  return nc.jetstream({ timeout: JETSTREAM_TIMEOUT_MS });
}

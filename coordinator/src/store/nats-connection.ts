// The coordinator's NATS connection: one or more servers (a cluster), reconnecting for as long
// as it takes with backoff and saying so in the log. Requests made meanwhile are retried by
// their callers (retryTransient).
import { backoffMs, natsServers, type Logger } from '@syncline/proto';
import { connect, type NatsConnection } from 'nats';

export async function connectNats(urls: string, logger?: Logger): Promise<NatsConnection> {
  let attempt = 0;
  const nc = await connect({
    servers: natsServers(urls),
    name: 'syncline-coordinator',
    maxReconnectAttempts: -1,
    // Called once per round through the server list.
    reconnectDelayHandler: () => backoffMs(attempt++),
  });
  void (async () => {
    for await (const status of nc.status()) {
      const server = typeof status.data === 'string' ? status.data : undefined;
      if (status.type === 'disconnect') logger?.warn({ server }, 'NATS connection lost; reconnecting');
      if (status.type === 'reconnect') {
        attempt = 0;
        logger?.info({ server }, 'NATS connection back');
      }
    }
  })();
  return nc;
}

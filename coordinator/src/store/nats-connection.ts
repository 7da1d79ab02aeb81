// The coordinator's NATS connection: one or more servers (a cluster), reconnecting for as long
// as it takes with backoff and saying so in the log. Requests made meanwhile are retried by
// their callers (retryTransient).
import { ReconnectPolicy, type Logger } from '@syncline/proto';
import { connect, type NatsConnection } from 'nats';

export async function connectNats(urls: string, logger?: Logger): Promise<NatsConnection> {
  const policy = new ReconnectPolicy();
  const nc = await connect(policy.options(urls, 'syncline-coordinator'));
  void policy.watch(nc.status(), logger);
  return nc;
}

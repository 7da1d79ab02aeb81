// The coordinator's NATS connection: one or more servers (a cluster), reconnecting for as long
// as it takes with backoff and saying so in the log. Requests made meanwhile are retried by
// their callers (retryTransient). It connects as the user it mints for itself.
import { ReconnectPolicy, type Logger, type NatsCredentials } from '@syncline/proto';
import { connect, jwtAuthenticator, type NatsConnection } from 'nats';

/** `ca`: PEM of the CA(s) the servers' certificates chain to; TLS is required then. */
export async function connectNats(urls: string, credentials: NatsCredentials, opts: { ca?: string; logger?: Logger } = {}): Promise<NatsConnection> {
  const policy = new ReconnectPolicy();
  const nc = await connect({
    ...policy.options(urls, 'syncline-coordinator'),
    authenticator: jwtAuthenticator(credentials.jwt, new TextEncoder().encode(credentials.seed)),
    ...(opts.ca ? { tls: { ca: opts.ca } } : {}),
  });
  void policy.watch(nc.status(), opts.logger);
  return nc;
}

// A NATS outage that outlasts a request's retries, as clients see it: gRPC UNAVAILABLE that the
// CLI names as such (exit 4, not "cannot reach the coordinator"), and HTTP 503 with Retry-After.
// The coordinator's own mappings (grpc/status.ts, http/respond.ts) over real sockets.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as GrpcServer, ServerCredentials, type sendUnaryData } from '@grpc/grpc-js';
import test from 'ava';
import { JobServiceService, ListJobsResponse, NATS_UNAVAILABLE } from '@syncline/proto';
import { toServiceError } from '../../coordinator/src/grpc/status.js';
import { HttpError, sendError } from '../../coordinator/src/http/respond.js';
import { SynclineClient } from '../src/client.js';
import { EXIT, NatsUnavailableError, RequestRefusedError, exitCodeFor } from '../src/errors.js';

/** What nats.js throws when JetStream has no leader for a while. */
const outage = () => Object.assign(new Error('503'), { code: '503', api_error: { code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' } });

test('gRPC: a passing NATS outage is UNAVAILABLE, which the CLI names and exits 4 on; other failures stay INTERNAL (exit 5)', async (t) => {
  let failure: Error = outage();
  const server = new GrpcServer();
  server.addService(JobServiceService, {
    listJobs: (_call: unknown, callback: sendUnaryData<ListJobsResponse>) => callback(toServiceError(failure)),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = new SynclineClient(`127.0.0.1:${port}`);
  try {
    const unavailable = await t.throwsAsync(client.list(), { instanceOf: NatsUnavailableError });
    t.is(unavailable?.message, `the coordinator at 127.0.0.1:${port} answered: ${NATS_UNAVAILABLE} (503); try again`);
    t.is(exitCodeFor(unavailable), EXIT.unreachable);

    failure = new Error('a bug');
    const internal = await t.throwsAsync(client.list(), { instanceOf: RequestRefusedError });
    t.is(internal?.message, 'a bug');
    t.is(exitCodeFor(internal), EXIT.refused);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('HTTP: a passing NATS outage is 503 with Retry-After; an HttpError keeps its status, anything else is 500', async (t) => {
  const failures: Record<string, Error> = { '/outage': outage(), '/missing': new HttpError(404, 'no such model'), '/bug': new Error('a bug') };
  const server: Server = createServer((req, res) => sendError(res, failures[req.url ?? '']!));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const answer = async (path: string) => {
      const res = await fetch(base + path);
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error: string } };
    };
    t.deepEqual(await answer('/outage'), { status: 503, retryAfter: '1', body: { error: `${NATS_UNAVAILABLE} (503); try again` } });
    t.deepEqual(await answer('/missing'), { status: 404, retryAfter: null, body: { error: 'no such model' } });
    t.deepEqual(await answer('/bug'), { status: 500, retryAfter: null, body: { error: 'a bug' } });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

// The Join stream to the coordinator, in a thread of its own: heartbeats keep flowing while the
// worker's main thread computes (a training step or a held-out evaluation blocks its event loop
// for as long as it takes). The main thread sends requests and receives responses as messages
// (coordinator-link.ts); this thread never touches training state.
import { parentPort, workerData } from 'node:worker_threads';
import { credentials } from '@grpc/grpc-js';
import { WorkerServiceClient, withBearer, type JoinRequest, type JoinResponse } from '@syncline/proto';
import type { LinkConfig, ToLink, FromLink } from './coordinator-link.js';

const port = parentPort!;
const config = workerData as LinkConfig;
const post = (message: FromLink) => port.postMessage(message);

// Keepalive pings find a dead connection (a coordinator host gone without closing its sockets)
// in seconds instead of the operating system's minutes.
const channel = config.ca ? credentials.createSsl(Buffer.from(config.ca)) : credentials.createInsecure();
const client = new WorkerServiceClient(
  config.coordinator,
  channel,
  withBearer(config.token, {
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
  }),
);
const stream = client.join();
let heartbeat: NodeJS.Timeout | undefined;
let closed = false;

const write = (request: JoinRequest) => {
  if (!closed && !stream.writableEnded && !stream.destroyed) stream.write(request);
};

const close = (reason: string) => {
  if (closed) return;
  closed = true;
  clearInterval(heartbeat);
  post({ type: 'closed', reason });
  stream.end();
  stream.cancel();
  client.close();
  port.close();
};

stream.on('data', (response: JoinResponse) => {
  if (response.msg?.$case === 'welcome') {
    const interval = Math.max(100, response.msg.value.heartbeatIntervalMs);
    heartbeat = setInterval(() => write({ msg: { $case: 'heartbeat', value: {} } }), interval);
  }
  post({ type: 'response', response });
});
stream.on('error', (err) => close(`stream error: ${err.message}`));
stream.on('end', () => close('coordinator ended the stream'));

port.on('message', (message: ToLink) => {
  if (message.type === 'send') write(message.request);
  else close(message.reason);
});

write({ msg: { $case: 'hello', value: config.hello } });

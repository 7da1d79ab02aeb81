// TLS end to end: nats-server, the coordinator's gRPC and HTTP, and two worker processes speak
// TLS only, with a local CA; a job is trained, and the SDK loads and runs its model trusting that
// CA. Plaintext and untrusted clients are refused at every door.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { NatsCredentialIssuer } from '@syncline/coordinator';
import { JobSpec, JobState } from '@syncline/proto';
import { loadModel } from '@syncline/sdk';
import { fetchTrusting } from '@syncline/sdk/node';
import { loadMnist } from '@syncline/worker/mnist';
import { connect, jwtAuthenticator } from 'nats';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';
import { createLocalTls, type LocalTls } from '../src/tls/certificates.js';

const test = anyTest as TestFn<{ cluster: LocalCluster; tls: LocalTls; dir: string; logs: string[] }>;

test.before(async (t) => {
  const logs: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'syncline-tls-'));
  const tls = await createLocalTls();
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, tls.ca);
  t.context = { tls, dir, logs, cluster: await startLocalCluster({ workers: 2, tls: { ...tls, caFile }, log: (l) => logs.push(l) }) };
});

test.after.always(async (t) => {
  await t.context.cluster?.stop();
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
});

test.serial('a job is trained and its model loaded over TLS only', async (t) => {
  const { cluster, tls } = t.context;
  t.regex(cluster.coordinator.httpUrl, /^https:\/\//);
  const client = new SynclineClient(cluster.coordinator.grpcAddress, { ca: tls.ca, token: cluster.secrets.adminToken });
  try {
    const submitted = await client.submit(
      JobSpec.fromJSON({
        name: 'tls-mlp',
        model: { layers: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } } },
        dataset: { name: 'mnist', trainLimit: 512 },
        training: { epochs: 1, globalBatchSize: 64, seed: 3 },
        workers: { min: 2, max: 2 },
      }),
    );
    const job = await client.watch(submitted.id);
    t.is(job.state, JobState.JOB_STATE_SUCCEEDED, job.error || t.context.logs.join('\n'));

    const model = await loadModel({ baseUrl: cluster.coordinator.httpUrl, name: 'tls-mlp', version: 'latest' }, { fetch: fetchTrusting(tls.ca), token: cluster.secrets.adminToken });
    try {
      const heldout = loadMnist().heldout;
      const predicted = model.predictClass(heldout.x);
      const correct = predicted.filter((cls, i) => heldout.y[i * 10 + cls] === 1).length;
      t.is(correct / heldout.count, job.result!.accuracy, 'the SDK sees the weights rank 0 evaluated');
    } finally {
      model.dispose();
    }
  } finally {
    client.close();
  }
});

test.serial('plaintext and untrusted clients are refused by gRPC, HTTP and NATS', async (t) => {
  const { cluster, tls } = t.context;
  // gRPC without TLS.
  const plain = new SynclineClient(cluster.coordinator.grpcAddress, { connectTimeoutMs: 2_000 });
  await t.throwsAsync(plain.list());
  plain.close();
  // gRPC over TLS, trusting another CA.
  const stranger = new SynclineClient(cluster.coordinator.grpcAddress, { ca: (await createLocalTls()).ca, connectTimeoutMs: 2_000 });
  await t.throwsAsync(stranger.list());
  stranger.close();
  // HTTP: the registry speaks only TLS, and Node's own CAs do not vouch for it.
  await t.throwsAsync(fetch(cluster.coordinator.httpUrl.replace(/^https:/, 'http:') + '/healthz'));
  await t.throwsAsync(fetch(`${cluster.coordinator.httpUrl}/healthz`));
  t.is((await fetchTrusting(tls.ca)(`${cluster.coordinator.httpUrl}/healthz`)).status, 200);
  // NATS: valid credentials, but no TLS.
  const creds = await new NatsCredentialIssuer(cluster.natsAccountKey).coordinator();
  const auth = { authenticator: jwtAuthenticator(creds.jwt, new TextEncoder().encode(creds.seed)), reconnect: false };
  await t.throwsAsync(connect({ servers: cluster.natsUrl, ...auth, timeout: 3_000 }));
  const nc = await connect({ servers: cluster.natsUrl, ...auth, tls: { ca: tls.ca } });
  await nc.close();
});

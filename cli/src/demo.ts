// `npm run demo`: the whole path on one machine. Starts a local cluster (nats-server, the
// coordinator, two worker processes), submits examples/mnist-mlp.json, shows progress, loads
// the published model with the SDK over HTTP and prints its held-out accuracy as
// `accuracy=<x>`. Everything started is stopped at the end, on failure and on Ctrl-C.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JobState } from '@syncline/proto';
import { loadModel } from '@syncline/sdk';
import { loadMnist } from '@syncline/worker/mnist';
import { SynclineClient, stateName } from './client.js';
import { readJobFile } from './job-file.js';
import { startLocalCluster, type LocalCluster } from './local-cluster.js';
import { watchWithProgress } from './progress.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const jobFile = process.argv[2] ?? join(root, 'examples', 'mnist-mlp.json');
const workers = Number(process.env.SYNCLINE_WORKERS ?? 2);
const say = (line: string) => console.error(`demo: ${line}`);

let cluster: LocalCluster | undefined;
let client: SynclineClient | undefined;
let stopping: Promise<void> | undefined;
const shutdown = () => {
  stopping ??= (async () => {
    client?.close();
    await cluster?.stop();
  })();
  return stopping;
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping everything`);
    void shutdown().finally(() => process.exit(130));
  });
}

try {
  say(`starting a local cluster with ${workers} workers`);
  cluster = await startLocalCluster({ workers, log: (line) => console.error(`  ${line}`) });
  say(`coordinator=${cluster.coordinator.grpcAddress} http=${cluster.coordinator.httpUrl} nats=${cluster.natsUrl}`);

  const spec = await readJobFile(jobFile);
  client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
  const submitted = await client.submit(spec);
  say(`submitted ${jobFile} as ${submitted.id}`);
  const job = await watchWithProgress(client, submitted.id);
  if (job.state !== JobState.JOB_STATE_SUCCEEDED || !job.model) {
    throw new Error(`job ${job.id} ended ${stateName(job.state)}: ${job.error || 'no model published'}`);
  }
  say(`published ${job.model.name} v${job.model.version}: ${job.model.url}`);

  const model = await loadModel({ baseUrl: cluster.coordinator.httpUrl, name: job.model.name, version: 'latest' });
  let accuracy: number;
  try {
    const heldout = loadMnist().heldout;
    const predicted = model.predictClass(heldout.x);
    let correct = 0;
    predicted.forEach((cls, i) => {
      if (heldout.y[i * 10 + cls] === 1) correct++;
    });
    accuracy = correct / heldout.count;
    say(`SDK loaded v${model.version} over HTTP (backend ${model.backend}) and classified ${heldout.count} held-out digits`);
  } finally {
    model.dispose();
  }
  await shutdown();
  console.log(`accuracy=${accuracy.toFixed(4)}`);
} catch (err) {
  // After Ctrl-C the watch ends because we closed it; that is not a failure to report.
  if (!stopping) say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown();
  process.exitCode = 1;
}

// `syncline logs <jobId>` on a real local cluster: a job whose dataset file vanished from the
// object store fails on every rank, and the log shows its life (submitted, running on which
// workers) and each rank's own error with its rank and worker, then the failure's reason.
import anyTest, { type TestFn } from 'ava';
import { JobSpec, JobState, datasetBucket, objectNames } from '@syncline/proto';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';
import { eventually, runCli, writeDefaultConfig } from './helpers/processes.js';

const test = anyTest as TestFn<{ cluster: LocalCluster; client: SynclineClient }>;

test.before(async (t) => {
  t.context.cluster = await startLocalCluster({ workers: 2 });
  t.context.client = new SynclineClient(t.context.cluster.coordinator.grpcAddress, { token: t.context.cluster.secrets.adminToken });
  await writeDefaultConfig(t.context.cluster.clientConfig);
});
test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.cluster?.stop();
});

test.serial("a rank's error is in the job's log, with its rank and worker, and fails the job", async (t) => {
  const { client, cluster } = t.context;
  // Content of its own, so no worker has it in its dataset cache from another run.
  const rows = ['a,b,label', ...Array.from({ length: 40 }, (_, i) => `${i},${Math.random().toFixed(6)},${i % 2}`)];
  const dataset = await client.uploadDataset(
    { name: 'vanishing', format: 'csv', inputShape: [], classes: 2, labelColumn: '', targetColumns: [], heldoutFraction: 0 },
    new TextEncoder().encode(rows.join('\n') + '\n'),
  );
  const objects = await cluster.coordinator.nc.jetstream().views.os(datasetBucket(dataset.name));
  // Its shards vanish (as in a store that lost them): every rank fails to read its data.
  for (const shard of dataset.shards) await objects.delete(shard.object);
  t.true(dataset.shards.length > 0);
  const job = await client.submit(
    JobSpec.fromJSON({
      name: 'logs-vanishing',
      model: { layers: [{ dense: { units: 2, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1 } } },
      dataset: { name: 'vanishing' },
      training: { epochs: 1, globalBatchSize: 8, seed: 1 },
      workers: { min: 2, max: 2 },
    }),
  );
  const final = await client.watch(job.id);
  t.is(final.state, JobState.JOB_STATE_FAILED);

  // The second rank's error may arrive after the first one failed the job.
  let lines: string[] = [];
  await eventually(
    'both ranks in the log',
    async () => {
      const out = await runCli(['logs', job.id, '--coordinator', cluster.coordinator.grpcAddress]);
      t.is(out.code, 0, out.stderr);
      lines = out.stdout.trim().split('\n');
      // The failed event comes with the first rank's error; a rank that had not read its missing
      // shard yet may be stopped by the job's failure before it fails on its own.
      return lines.some((l) => /\sfailed\s/.test(l)) && lines.some((l) => l.includes('rank_failed'));
    },
    15_000,
  );
  t.log(lines.join('\n'));
  const kinds = lines.map((l) => l.split(/\s+/)[2]);
  t.deepEqual(kinds.slice(0, 2), ['submitted', 'running']);
  t.true(kinds.includes('failed'));
  const reported = [0, 1].filter((rank) => lines.some((l) => l.includes('rank_failed') && l.includes(`rank ${rank} `)));
  t.true(reported.length >= 1);
  for (const rank of reported) {
    const line = lines.find((l) => l.includes('rank_failed') && l.includes(`rank ${rank} `))!;
    t.regex(line, new RegExp(`ERROR\\s+rank_failed\\s+g1 rank ${rank} \\(${final.workers[rank]}\\): (\\w+Error: )?dataset vanishing: \\S+ is missing from the object store`));
  }
  t.regex(lines.find((l) => /\sfailed\s/.test(l))!, /rank \d \(worker local-\d\) failed: (\w+Error: )?dataset vanishing/);
  t.regex(lines[1]!, new RegExp(`running on 2 workers: ${final.workers.join(', ')}`));

  const json = await runCli(['logs', job.id, '--json', '--coordinator', cluster.coordinator.grpcAddress]);
  const entries = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(
    entries.filter((e) => e.kind === 'rank_failed').map((e) => [e.rank ?? 0, e.workerId, e.generation]).sort(),
    reported.map((rank) => [rank, final.workers[rank], 1]),
  );
  const unknown = await runCli(['logs', 'job-nope', '--coordinator', cluster.coordinator.grpcAddress]);
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /job-nope/);
});

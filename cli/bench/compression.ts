// `compression`: held-out accuracy of examples/mnist-mlp.json trained on the local cluster
// (2 workers) with each all-reduce compression, next to uncompressed training in the same run.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, Emit } from '../../bench/registry.js';
import { SynclineClient } from '../src/client.js';
import { readJobFile } from '../src/job-file.js';
import { startLocalCluster } from '../src/local-cluster.js';

const jobFile = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'mnist-mlp.json');

export const compressionBench: Bench = {
  name: 'compression',
  description: 'held-out accuracy of mnist-mlp with fp16 and int8 all-reduce compression vs none',
  async run(emit: Emit) {
    const cluster = await startLocalCluster({ workers: 2 });
    const client = new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken });
    try {
      let baseline: number | undefined;
      for (const compression of ['none', 'fp16', 'int8']) {
        const spec = await readJobFile(jobFile);
        spec.communication = { algorithm: 'sharded', compression };
        const job = await client.watch((await client.submit(spec)).id);
        if (!job.result) throw new Error(`${compression}: job ended without a result: ${job.error}`);
        baseline ??= job.result.accuracy;
        emit({
          job: 'mnist-mlp',
          compression,
          accuracy: job.result.accuracy,
          loss: Number(job.result.loss.toFixed(4)),
          pointsBelowUncompressed: Number(((baseline - job.result.accuracy) * 100).toFixed(2)),
          seconds: Number(job.result.seconds.toFixed(1)),
        });
      }
    } finally {
      client.close();
      await cluster.stop();
    }
  },
};

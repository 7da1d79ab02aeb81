// The `syncline` command line: start a local cluster, submit and watch jobs, list models.
import { Command } from 'commander';
import { datasets, upload } from './commands/datasets.js';
import { cancel, jobs } from './commands/jobs.js';
import { models } from './commands/models.js';
import { submit } from './commands/submit.js';
import { up } from './commands/up.js';

const defaultCoordinator = process.env.SYNCLINE_COORDINATOR ?? '127.0.0.1:7070';
const coordinatorOption = ['--coordinator <host:port>', 'coordinator gRPC address (env SYNCLINE_COORDINATOR)', defaultCoordinator] as const;

const program = new Command().name('syncline').description('Syncline: data-parallel training on a cluster, inference at the edge');
program
  .command('up')
  .description('start a local cluster (nats-server, coordinator, workers) until interrupted')
  .option('--workers <n>', 'worker processes (env SYNCLINE_WORKERS)', process.env.SYNCLINE_WORKERS ?? '2')
  .option('--grpc-port <port>', 'coordinator gRPC port (env SYNCLINE_GRPC_PORT)', process.env.SYNCLINE_GRPC_PORT ?? '7070')
  .option('--http-port <port>', 'model registry HTTP port (env SYNCLINE_HTTP_PORT)', process.env.SYNCLINE_HTTP_PORT ?? '7080')
  .option('--nats-cluster <n>', 'run n clustered nats-servers (JetStream replicas 3) instead of one', '1')
  .action(up);
program
  .command('submit <job.json>')
  .description('submit a job file; with --watch, follow it to the end')
  .option('--watch', 'show progress; exit 0 only if the job succeeded; print its final metrics as JSON')
  .option('--timeline <file>', 'record a per-step timeline and write it (Chrome trace JSON) when the job ends; needs --watch')
  .option(...coordinatorOption)
  .action(async (file: string, opts: { watch?: boolean; coordinator: string; timeline?: string }) => {
    process.exitCode = await submit(file, opts);
  });
program
  .command('upload <file>')
  .description('upload a dataset (CSV with a header row, or a Syncline tensor file) for jobs to name in dataset.name')
  .requiredOption('--name <name>', 'dataset name')
  .option('--format <format>', 'csv or tensor (default: by file extension)')
  .option('--classes <n>', 'classification: number of classes (labels 0..n-1); 0 for regression', '0')
  .option('--label-column <column>', 'CSV column with the class label (default "label")')
  .option('--target-columns <a,b>', 'regression: CSV columns with the targets')
  .option('--input-shape <d1,d2,...>', 'shape of one sample (default: flat)')
  .option('--heldout <fraction>', 'share of samples held out, from the end (default 0.2)')
  .option(...coordinatorOption)
  .action(upload);
program.command('datasets').description('list uploaded datasets').option(...coordinatorOption).action(datasets);
program.command('jobs').description('list jobs').option(...coordinatorOption).action(jobs);
program.command('cancel <jobId>').description('cancel a job').option(...coordinatorOption).action(cancel);
program.command('models').description('list published models (latest versions) with their model.json URLs').option(...coordinatorOption).action(models);

try {
  await program.parseAsync();
} catch (err) {
  const e = err as { code?: number; details?: string; message?: string };
  // gRPC errors carry a status code and the server's message naming the field.
  console.error(`syncline: ${e.details ?? e.message ?? String(err)}`);
  process.exitCode = 2;
}

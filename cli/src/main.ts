// The `syncline` command line: start a local cluster, check, submit and watch jobs, list models.
// Each command's module loads only when that command runs, so `validate` and `jobs` start quickly.
import { Command, CommanderError } from 'commander';
import { EXIT, exitCodeFor } from './errors.js';

// The coordinator and token: --config / SYNCLINE_CONFIG, then SYNCLINE_TOKEN, then the default
// config file that `syncline up` writes (src/config.ts).
const coordinatorOption = ['--coordinator <host:port>', 'coordinator gRPC address (env SYNCLINE_COORDINATOR; default: the config file\'s, else 127.0.0.1:7070)'] as const;
const configOption = ['--config <file>', 'client config file with coordinator and token (env SYNCLINE_CONFIG; default ~/.config/syncline/config.json, written by `syncline up`)'] as const;

// Usage errors end with EXIT.usage rather than commander's 1, which means "the job failed".
const program = new Command().name('syncline').description('Syncline: data-parallel training on a cluster, inference at the edge').exitOverride();
program
  .command('up')
  .description('start a local cluster (nats-server, coordinator, workers) until interrupted')
  .option('--workers <n>', 'worker processes (env SYNCLINE_WORKERS); default: one on the native backend, one per core on wasm', process.env.SYNCLINE_WORKERS)
  .option('--grpc-port <port>', 'coordinator gRPC port (env SYNCLINE_GRPC_PORT)', process.env.SYNCLINE_GRPC_PORT ?? '7070')
  .option('--http-port <port>', 'model registry HTTP port (env SYNCLINE_HTTP_PORT)', process.env.SYNCLINE_HTTP_PORT ?? '7080')
  .option('--nats-cluster <n>', 'run n clustered nats-servers (JetStream replicas 3) instead of one', '1')
  .option('--state-dir <dir>', "where the cluster's secrets are kept between starts (env SYNCLINE_STATE_DIR; default ~/.local/state/syncline)", process.env.SYNCLINE_STATE_DIR)
  .option('--config <file>', 'where to write the client config (env SYNCLINE_CONFIG; default ~/.config/syncline/config.json)', process.env.SYNCLINE_CONFIG)
  .option('--tls', 'TLS on gRPC, HTTP and NATS, with a local CA made on first start in $SYNCLINE_STATE_DIR/tls (env SYNCLINE_TLS=1)', process.env.SYNCLINE_TLS === '1')
  .action(async (opts) => (await import('./commands/up.js')).up(opts));
program
  .command('secrets')
  .description("print the cluster's keys as Kubernetes Secrets (NATS trust, NATS account key, model-signing key), for kubectl apply -f -")
  .option('--namespace <ns>', 'namespace of the Secrets', 'syncline')
  .action(async (opts) => (await import('./commands/secrets.js')).secrets(opts));
program
  .command('validate <job-files...>')
  .description('check job files (JSON, or YAML as .yaml/.yml) without submitting them: against the coordinator when one answers, otherwise locally')
  .option('--offline', 'check locally only, without asking a coordinator')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (files: string[], opts) => {
    process.exitCode = await (await import('./commands/validate.js')).validate(files, opts);
  });
program
  .command('submit <job-file>')
  .description('submit a job file (JSON, or YAML as .yaml/.yml); with --watch, follow it to the end')
  .option('--watch', 'show progress; exit 0 only if the job succeeded; print its final metrics as JSON')
  .option('--dry-run', 'have the coordinator check the job and print it as it would run (defaults filled in), without submitting it')
  .option('--timeline <file>', 'record a per-step timeline and write it (Chrome trace JSON) when the job ends; needs --watch')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (file: string, opts) => {
    process.exitCode = await (await import('./commands/submit.js')).submit(file, opts);
  });
program
  .command('upload <path>')
  .description('upload a dataset for jobs to name in dataset.name: a CSV file with a header row, a Syncline tensor file, or an image folder (one sub-folder per class) or its .zip/.tar')
  .requiredOption('--name <name>', 'dataset name')
  .option('--format <format>', 'csv or tensor (default: by file extension)')
  .option('--classes <n>', 'classification: number of classes (labels 0..n-1); 0 for regression', '0')
  .option('--label-column <column>', 'CSV column with the class label (default "label")')
  .option('--target-columns <a,b>', 'regression: CSV columns with the targets')
  .option('--input-shape <d1,d2,...>', 'shape of one sample (default: flat)')
  .option('--heldout <fraction>', 'share of samples held out, from the end (default 0.2)')
  .option('--image-size <WxH>', 'image folders: the size images are resized to (default 64x64)')
  .option('--channels <n>', 'image folders: 1 (grey) or 3 (RGB, the default)')
  .option('--seed <n>', 'image folders: seed of the order images are stored in (default 1)')
  .option('--shard-bytes <bytes>', "bytes of samples per stored shard (default: the coordinator's, 16 MiB)")
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (file: string, opts) => (await import('./commands/datasets.js')).upload(file, opts));
program
  .command('upload-model <dir>')
  .description('register a TF.js layers model (model.json and the weight files it names, e.g. from tensorflowjs_converter) as the next version of a name, usable in model.base')
  .requiredOption('--name <name>', 'model name')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (dir: string, opts) => (await import('./commands/models.js')).uploadModel(dir, opts));
program
  .command('datasets')
  .description('list uploaded datasets')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (opts) => (await import('./commands/datasets.js')).datasets(opts));
program
  .command('jobs')
  .description('list jobs')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (opts) => (await import('./commands/jobs.js')).jobs(opts));
program
  .command('logs <jobId>')
  .description("a job's event log: state and membership changes, each rank's errors")
  .option('--json', 'one JSON object per line')
  .option('--metrics', 'also the sampled step metrics')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (jobId: string, opts) => (await import('./commands/logs.js')).logs(jobId, opts));
program
  .command('cancel <jobId>')
  .description('cancel a job')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (jobId: string, opts) => (await import('./commands/jobs.js')).cancel(jobId, opts));
program
  .command('models')
  .description('list published models (latest versions) with their model.json URLs')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (opts) => (await import('./commands/models.js')).models(opts));

const token = program.command('token').description('access tokens (admin only): create, list, revoke');
token
  .command('create')
  .description('create a token and print it (once)')
  .requiredOption('--name <name>', 'unique name; what the token submits is owned by this name')
  .option('--role <role>', 'admin, user or reader', 'user')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (opts) => (await import('./commands/tokens.js')).create(opts));
token
  .command('list')
  .description('list tokens: id, name, role, created, valid or revoked (never the tokens themselves)')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (opts) => (await import('./commands/tokens.js')).list(opts));
token
  .command('revoke <name-or-id>')
  .description('revoke a token at once, by name or id')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (nameOrId: string, opts) => (await import('./commands/tokens.js')).revoke(nameOrId, opts));
program
  .command('delete <kind> <target>')
  .description('delete a finished job (delete job <jobId>), a model with every version (delete model <name>) or a dataset (delete dataset <name>): owner or admin')
  .option(...coordinatorOption)
  .option(...configOption)
  .action(async (kind: string, target: string, opts) => (await import('./commands/delete.js')).remove(kind, target, opts));

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed the problem (or the help) already.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    console.error(`syncline: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = exitCodeFor(err);
  }
}

// `syncline submit <job-file> [--watch] [--dry-run]`.
import { writeFile } from 'node:fs/promises';
import { JobSpec, JobState } from '@syncline/proto';
import { SynclineClient, stateName } from '../client.js';
import { EXIT, RequestRefusedError, UsageError } from '../errors.js';
import { loadJobFile } from '../job-file.js';
import { watchWithProgress } from '../progress.js';
import { specRefusal } from './validate.js';

export interface SubmitOptions {
  watch?: boolean;
  dryRun?: boolean;
  coordinator?: string;
  config?: string;
  timeline?: string;
}

/** How long `--watch` waits for a coordinator that went away (it may be restarting; jobs outlive it). */
const RECONNECT_MS = 60_000;

export async function submit(path: string, opts: SubmitOptions): Promise<number> {
  if (opts.timeline && !opts.watch) throw new UsageError('--timeline needs --watch (the timeline is fetched when the job ends)');
  const file = await loadJobFile(path);
  const spec = file.spec;
  if (opts.timeline) spec.training = { ...spec.training!, timeline: true };
  const client = await SynclineClient.open(opts);
  try {
    if (opts.dryRun) {
      const checked = await client.validate(spec).catch((err: unknown) => {
        throw err instanceof RequestRefusedError ? specRefusal(file, err) : err;
      });
      const { min, max } = checked.spec!.workers!;
      console.error(`dry run: ${path} is valid; it would run ${checked.totalSteps} steps on ${min === max ? min : `${min} to ${max}`} workers; nothing was submitted`);
      // The spec as it would run, defaults filled in: a job file itself.
      console.log(JSON.stringify(JobSpec.toJSON(checked.spec!), null, 2));
      return EXIT.ok;
    }
    const job = await client.submit(spec).catch((err: unknown) => {
      throw err instanceof RequestRefusedError ? specRefusal(file, err) : err;
    });
    console.error(`submitted ${job.id} (${spec.name}): ${stateName(job.state)}`);
    if (!opts.watch) {
      console.log(job.id);
      return EXIT.ok;
    }
    const final = await watchWithProgress(client, job.id, process.stderr, RECONNECT_MS);
    if (opts.timeline && final.state === JobState.JOB_STATE_SUCCEEDED) {
      await writeFile(opts.timeline, await client.completeTimeline(job.id, final.workers.length));
      console.error(`timeline written to ${opts.timeline} (open it in chrome://tracing or Perfetto)`);
    }
    console.log(
      JSON.stringify({
        jobId: final.id,
        state: stateName(final.state),
        accuracy: final.result?.accuracy ?? null,
        loss: final.result?.loss ?? null,
        heldoutExamples: final.result?.heldoutExamples ?? null,
        trainAccuracy: final.result?.trainAccuracy ?? null,
        trainLoss: final.result?.trainLoss ?? null,
        steps: final.result?.steps ?? null,
        seconds: final.result?.seconds ?? null,
        ...(final.result?.earlyStop ? { stoppedEarly: final.result.earlyStop } : {}),
        model: final.model?.url ?? null,
        ...(final.error ? { error: final.error } : {}),
      }),
    );
    return final.state === JobState.JOB_STATE_SUCCEEDED ? EXIT.ok : EXIT.jobFailed;
  } finally {
    client.close();
  }
}

// `syncline submit <job.json> [--watch]`.
import { SynclineClient, stateName } from '../client.js';
import { readJobFile } from '../job-file.js';
import { watchWithProgress } from '../progress.js';
import { writeFile } from 'node:fs/promises';
import { JobState } from '@syncline/proto';

export async function submit(file: string, opts: { watch?: boolean; coordinator: string; timeline?: string }): Promise<number> {
  const spec = await readJobFile(file);
  if (opts.timeline) {
    if (!opts.watch) throw new Error('--timeline needs --watch (the timeline is fetched when the job ends)');
    spec.training = { ...spec.training!, timeline: true };
  }
  const client = new SynclineClient(opts.coordinator);
  try {
    const job = await client.submit(spec);
    console.error(`submitted ${job.id} (${spec.name}): ${stateName(job.state)}`);
    if (!opts.watch) {
      console.log(job.id);
      return 0;
    }
    const final = await watchWithProgress(client, job.id);
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
        model: final.model?.url ?? null,
        ...(final.error ? { error: final.error } : {}),
      }),
    );
    return final.state === JobState.JOB_STATE_SUCCEEDED ? 0 : 1;
  } finally {
    client.close();
  }
}

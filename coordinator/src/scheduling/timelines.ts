// Per-rank timelines that ranks send with their end-of-training report, kept for `submit --timeline`.
import type { JobFinished } from '@syncline/proto';
import type { SchedulingContext } from './context.js';

export async function keepTimeline(ctx: SchedulingContext, workerId: string, msg: JobFinished): Promise<void> {
  const save = ctx.opts.saveTimeline;
  if (msg.timeline.length === 0 || !save) return;
  // Ranks finish in any order, also after rank 0 ended the job: find the rank in the record.
  const record = await ctx.opts.store.get(msg.jobId);
  const rank = record && record.generation === msg.generation ? record.workers.indexOf(workerId) : -1;
  if (rank < 0) return;
  await save(msg.jobId, msg.generation, rank, msg.timeline).catch((err: unknown) => ctx.warn({ job: msg.jobId, generation: msg.generation, rank, err: String(err) }, 'could not store a timeline'));
}

// What a change of a job record means for its event log: pure, so each rule is tested alone.
// The log says what happened in the job's life (submitted, running on which workers, a
// membership change, waiting, the outcome with its reason), not every write of the record.
import { JobState, type Job, type JobLogEntry } from '@syncline/proto';

export type LogEntry = JobLogEntry;

export function entry(fields: Partial<JobLogEntry> & Pick<JobLogEntry, 'kind' | 'message'>): JobLogEntry {
  return { unixMs: Date.now(), level: 'info', generation: 0, rank: -1, workerId: '', step: 0, workers: [], metrics: undefined, ...fields };
}

function outcome(job: Job, step: number): JobLogEntry | undefined {
  const common = { generation: job.generation, step };
  switch (job.state) {
    case JobState.JOB_STATE_SUCCEEDED: {
      const r = job.result;
      const metrics = r ? `held-out loss ${r.loss.toPrecision(4)}, accuracy ${r.accuracy.toFixed(4)} on ${r.heldoutExamples} examples` : 'no metrics';
      const model = job.model ? `; published ${job.model.name} v${job.model.version}` : '';
      const stop = r?.earlyStop;
      const after = stop ? `stopped early at step ${stop.step} of ${job.totalSteps}: ${stop.reason}; ` : '';
      return entry({ ...common, kind: 'succeeded', message: `succeeded after ${r?.steps ?? step} steps: ${after}${metrics}${model}` });
    }
    case JobState.JOB_STATE_FAILED:
      return entry({ ...common, kind: 'failed', level: 'error', message: job.error || 'failed' });
    case JobState.JOB_STATE_CANCELLED:
      return entry({ ...common, kind: 'cancelled', level: 'warn', message: job.error || 'cancelled' });
    default:
      return undefined;
  }
}

/** Entries for the change from `prev` (undefined: the job is new here) to `next`; `step`: the last step reported. */
export function transitionEntries(prev: Job | undefined, next: Job, step: number): JobLogEntry[] {
  const out: JobLogEntry[] = [];
  if (prev === undefined && next.state === JobState.JOB_STATE_PENDING && next.generation === 0) {
    const w = next.spec?.workers;
    out.push(entry({ kind: 'submitted', message: `submitted ${next.spec?.name ?? ''}: ${next.totalSteps} steps on ${w?.min}-${w?.max} workers` }));
  }
  if (next.state === JobState.JOB_STATE_RUNNING && next.generation !== (prev?.generation ?? 0)) {
    const first = next.generation === 1;
    const resumed = next.checkpointStep > 0 && prev?.state === JobState.JOB_STATE_PENDING;
    const workers = `${next.workers.length} workers: ${next.workers.join(', ')}`;
    const message = first
      ? `running on ${workers}`
      : `generation ${next.generation} on ${workers}${resumed ? `; resuming from the checkpoint at step ${next.checkpointStep}` : ''} (membership change ${next.membershipChanges})`;
    out.push(entry({ kind: first ? 'running' : 'generation', message, generation: next.generation, step, workers: [...next.workers] }));
  }
  if (next.state === JobState.JOB_STATE_PENDING && prev?.state === JobState.JOB_STATE_PENDING && next.error && next.error !== prev.error) {
    // Still waiting, for a reason newly known (a job that asks for GPU workers, none idle).
    out.push(entry({ kind: 'pending', message: next.error, generation: next.generation, step }));
  }
  if (next.state === JobState.JOB_STATE_PENDING && prev?.state === JobState.JOB_STATE_RUNNING) {
    out.push(entry({ kind: 'pending', level: 'warn', message: next.error || 'waiting for workers', generation: next.generation, step }));
  }
  if (next.state !== prev?.state) {
    const end = outcome(next, step);
    if (end) out.push(end);
  }
  return out;
}

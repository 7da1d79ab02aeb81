// Per-job Prometheus series: set from step reports, and reset where a stale value would
// mislead (fewer ranks after a generation change, a job waiting for workers, an ended job).
import test from 'ava';
import { Registry } from 'prom-client';
import { Job, JobSpec, JobState, StepMetrics } from '@syncline/proto';
import { JobEvents } from '../src/job-events.js';
import { JobMetrics } from '../src/job-metrics.js';

const spec = JobSpec.fromJSON({ name: 'mlp', workers: { min: 1, max: 3 } });
const job = (fields: Partial<Job>) => Job.fromPartial({ id: 'job-1', spec, totalSteps: 100, ...fields });

async function series(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON()) {
    // Histogram values carry their own names (_bucket, _sum, _count); buckets are left out.
    for (const v of metric.values as { metricName?: string; labels: object; value: number }[]) {
      if (!v.metricName?.endsWith('_bucket')) out.set(`${v.metricName ?? metric.name}${JSON.stringify(v.labels)}`, v.value);
    }
  }
  return out;
}

test('series follow the job and reset on generation change, waiting and after the end', async (t) => {
  const registry = new Registry();
  const events = new JobEvents();
  let now = 0;
  const metrics = new JobMetrics(registry, events, { retainEndedMs: 20, now: () => now });
  t.teardown(() => metrics.stop());
  const step = (n: number, ranks: number) =>
    events.emit('job-1', {
      kind: 'metrics',
      metrics: StepMetrics.fromPartial({ step: n, totalSteps: 100, samplesPerSecond: 1000, commFraction: 0.25, loss: 0.5, accuracy: 0.75, shares: Array(ranks).fill(32), rankSamplesPerSecond: Array(ranks).fill(500) }),
    });
  events.emit('job-1', { kind: 'job', job: job({ state: JobState.JOB_STATE_RUNNING, generation: 1, workers: ['a', 'b', 'c'] }) });
  step(1, 3);
  now = 500;
  step(3, 3);
  let s = await series(registry);
  const job1 = '{"job":"job-1","name":"mlp"}';
  t.is(s.get(`syncline_job_step${job1}`), 3);
  t.is(s.get(`syncline_job_step_seconds${job1}`), 0.25, '500 ms over 2 steps');
  t.is(s.get(`syncline_job_samples_per_second${job1}`), 1000);
  t.is(s.get(`syncline_job_comm_fraction${job1}`), 0.25);
  t.is(s.get(`syncline_job_workers${job1}`), 3);
  t.is(s.get(`syncline_job_step_duration_seconds_count${job1}`), 1);
  t.is(s.get('syncline_job_rank_share{"job":"job-1","name":"mlp","rank":"2"}'), 32);

  // Worker c lost: generation 2 on two workers; rank 2's series go, no step time across the change.
  events.emit('job-1', { kind: 'job', job: job({ state: JobState.JOB_STATE_RUNNING, generation: 2, workers: ['a', 'b'], membershipChanges: 1 }) });
  now = 10_000;
  step(4, 2);
  s = await series(registry);
  t.false(s.has('syncline_job_rank_share{"job":"job-1","name":"mlp","rank":"2"}'));
  t.false(s.has('syncline_job_rank_samples_per_second{"job":"job-1","name":"mlp","rank":"2"}'));
  t.is(s.get(`syncline_job_step_seconds${job1}`), 0.25, 'the 9.5 s across the generation change is not a step time');
  t.is(s.get(`syncline_job_membership_changes${job1}`), 1);
  t.is(s.get(`syncline_job_generation${job1}`), 2);

  // Waiting for workers: no speed, no ranks; the step and membership stay.
  events.emit('job-1', { kind: 'job', job: job({ state: JobState.JOB_STATE_PENDING, generation: 2, membershipChanges: 1 }) });
  s = await series(registry);
  for (const name of ['samples_per_second', 'comm_fraction', 'step_seconds', 'workers']) t.false(s.has(`syncline_job_${name}${job1}`), name);
  t.false([...s.keys()].some((k) => k.startsWith('syncline_job_rank_')));
  t.is(s.get(`syncline_job_step${job1}`), 4);

  // Ended: the final values stay for a scrape, then every series of the job goes.
  events.emit('job-1', { kind: 'job', job: job({ state: JobState.JOB_STATE_SUCCEEDED, generation: 2, membershipChanges: 1 }) });
  t.is((await series(registry)).get(`syncline_job_step${job1}`), 4);
  await new Promise((r) => setTimeout(r, 60));
  t.false([...(await series(registry)).keys()].some((k) => k.includes('job-1')));
});

// Prometheus series per job, from the job events: step, step time, samples/s, communication
// share, workers, generation, membership changes, loss and accuracy, and each rank's speed and
// share. They reset where a stale value would mislead: a new generation drops the rank series
// (ranks may be fewer) and the step-time baseline; a job that stops running (waiting for
// workers) drops its speed series; an ended job's series go after `retainEndedMs`, long enough
// for a scrape to see the final values.
import { Gauge, Histogram, type Registry } from 'prom-client';
import { JobState, type Job, type StepMetrics } from '@syncline/proto';
import type { JobEvents } from './job-events.js';

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

interface Tracked {
  name: string;
  generation: number;
  ranks: number;
  lastStep?: { step: number; at: number };
  removal?: NodeJS.Timeout;
}

export interface JobMetricsOptions {
  retainEndedMs?: number;
  now?: () => number;
}

export class JobMetrics {
  private readonly jobs = new Map<string, Tracked>();
  private readonly unsubscribe: () => void;
  private readonly now: () => number;
  private readonly retainEndedMs: number;
  private readonly gauge: Record<'step' | 'totalSteps' | 'samples' | 'comm' | 'workers' | 'generation' | 'membership' | 'loss' | 'accuracy' | 'stepSeconds', Gauge>;
  private readonly rankSpeed: Gauge;
  private readonly rankShare: Gauge;
  private readonly stepDuration: Histogram;

  constructor(registry: Registry, events: JobEvents, opts: JobMetricsOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.retainEndedMs = opts.retainEndedMs ?? 60_000;
    const g = (name: string, help: string) => new Gauge({ name, help, labelNames: ['job', 'name'], registers: [registry] });
    this.gauge = {
      step: g('syncline_job_step', 'Last completed training step of the job'),
      totalSteps: g('syncline_job_total_steps', 'Planned training steps of the job'),
      samples: g('syncline_job_samples_per_second', 'Training samples per second over all workers, last step'),
      comm: g('syncline_job_comm_fraction', "Share of the last step's wall time spent in the gradient all-reduce"),
      workers: g('syncline_job_workers', 'Workers training the job in its current generation'),
      generation: g('syncline_job_generation', 'Current generation of the job'),
      membership: g('syncline_job_membership_changes', 'Generations started after losing or gaining workers'),
      loss: g('syncline_job_loss', 'Training loss of the last step'),
      accuracy: g('syncline_job_accuracy', 'Training accuracy of the last step'),
      stepSeconds: g('syncline_job_step_seconds', 'Wall time of the last step, between two reports of rank 0'),
    };
    this.rankSpeed = new Gauge({ name: 'syncline_job_rank_samples_per_second', help: "Each rank's compute speed (forward and backward)", labelNames: ['job', 'name', 'rank'], registers: [registry] });
    this.rankShare = new Gauge({ name: 'syncline_job_rank_share', help: "Each rank's share of the global minibatch (samples)", labelNames: ['job', 'name', 'rank'], registers: [registry] });
    this.stepDuration = new Histogram({
      name: 'syncline_job_step_duration_seconds',
      help: 'Wall time of training steps, between reports of rank 0',
      labelNames: ['job', 'name'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.unsubscribe = events.subscribeAll((jobId, event) => {
      if (event.kind === 'job') this.onJob(event.job);
      else if (event.kind === 'metrics') this.onStep(jobId, event.metrics);
    });
  }

  stop(): void {
    this.unsubscribe();
    for (const t of this.jobs.values()) clearTimeout(t.removal);
  }

  private labels(jobId: string, t: Tracked) {
    return { job: jobId, name: t.name };
  }

  private onJob(job: Job): void {
    let t = this.jobs.get(job.id);
    if (!t) this.jobs.set(job.id, (t = { name: job.spec?.name ?? '', generation: job.generation, ranks: 0 }));
    const labels = this.labels(job.id, t);
    if (job.generation !== t.generation) {
      this.dropRanks(job.id, t);
      t.lastStep = undefined;
      t.generation = job.generation;
    }
    if (job.state !== JobState.JOB_STATE_RUNNING) {
      // No speed while waiting or after the end.
      for (const gauge of [this.gauge.samples, this.gauge.comm, this.gauge.stepSeconds, this.gauge.workers]) gauge.remove(labels);
      this.dropRanks(job.id, t);
      t.lastStep = undefined;
    } else {
      this.gauge.workers.set(labels, job.workers.length);
    }
    this.gauge.totalSteps.set(labels, job.totalSteps);
    this.gauge.generation.set(labels, job.generation);
    this.gauge.membership.set(labels, job.membershipChanges);
    if (TERMINAL.has(job.state) && !t.removal) {
      const tracked = t;
      t.removal = setTimeout(() => this.removeJob(job.id, tracked), this.retainEndedMs);
      t.removal.unref();
    }
  }

  private onStep(jobId: string, m: StepMetrics): void {
    const t = this.jobs.get(jobId);
    if (!t || t.removal) return;
    const labels = this.labels(jobId, t);
    const at = this.now();
    if (t.lastStep && m.step > t.lastStep.step) {
      const seconds = (at - t.lastStep.at) / 1000 / (m.step - t.lastStep.step);
      this.gauge.stepSeconds.set(labels, seconds);
      this.stepDuration.observe(labels, seconds);
    }
    t.lastStep = { step: m.step, at };
    this.gauge.step.set(labels, m.step);
    this.gauge.samples.set(labels, m.samplesPerSecond);
    this.gauge.comm.set(labels, m.commFraction);
    this.gauge.loss.set(labels, m.loss);
    this.gauge.accuracy.set(labels, m.accuracy);
    if (m.rankSamplesPerSecond.length < t.ranks || m.shares.length < t.ranks) this.dropRanks(jobId, t);
    m.rankSamplesPerSecond.forEach((speed, rank) => this.rankSpeed.set({ ...labels, rank: String(rank) }, speed));
    m.shares.forEach((share, rank) => this.rankShare.set({ ...labels, rank: String(rank) }, share));
    t.ranks = Math.max(m.rankSamplesPerSecond.length, m.shares.length);
  }

  private dropRanks(jobId: string, t: Tracked): void {
    for (let rank = 0; rank < t.ranks; rank++) {
      this.rankSpeed.remove({ ...this.labels(jobId, t), rank: String(rank) });
      this.rankShare.remove({ ...this.labels(jobId, t), rank: String(rank) });
    }
    t.ranks = 0;
  }

  private removeJob(jobId: string, t: Tracked): void {
    this.dropRanks(jobId, t);
    const labels = this.labels(jobId, t);
    for (const gauge of Object.values(this.gauge)) gauge.remove(labels);
    this.stepDuration.remove(labels);
    this.jobs.delete(jobId);
  }
}

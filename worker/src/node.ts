// A worker process's place in the cluster: it joins the coordinator (the Join stream and its
// heartbeats live in a thread of their own, connection/), and trains the assignments it receives
// one at a time (jobs/job-runner.ts), each over a NATS connection of its own made with the
// credentials that came with it (allowed that job alone). stop() leaves cleanly: a running
// job first reaches a step boundary that every rank agrees on, so nothing is redone.
import { hostname } from 'node:os';
import { lineLogger, type Accelerator, type Assignment, type JoinRequest, type JoinResponse, type Logger } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import type { BackendName } from './backend.js';
import { CoordinatorLink } from './connection/coordinator-link.js';
import { CoordinatorLostError, GenerationChangedError, JobCancelledError } from './errors.js';
import { FaultInjector } from './faults.js';
import { KernelProbe } from './jobs/kernel-probe.js';
import { runAssignment, type RunnerOutcome } from './jobs/job-runner.js';
import { connectNats } from './nats-connection.js';
import { JobSessions } from './train/sessions.js';

export interface WorkerNodeOptions {
  /** host:port of the coordinator's gRPC endpoint. */
  coordinator: string;
  /** The worker credential the coordinator's Join requires. */
  token: string;
  backend: BackendName;
  /** What the backend computes on, advertised when joining; default: unknown (scheduled as cpu). */
  accelerator?: Accelerator;
  /** PEM of the CA(s) that signed the coordinator's and the NATS servers' certificates: both are then reached over TLS. */
  ca?: string;
  /** Overrides the NATS URL(s) the coordinator hands out (comma-separated for a cluster). */
  natsUrl?: string;
  workerId?: string;
  /** Structured log records (a pino logger). */
  logger?: Logger;
  /** Without `logger`: each record as one line. */
  log?: (line: string) => void;
  /** Job state kept across generations; share one between the nodes of successive reconnects. */
  sessions?: JobSessions;
  /** Failure injection for tests; default: what SYNCLINE_FAULT_PLAN names, if anything. */
  faults?: FaultInjector;
}

/** How long stop() lets a running job reach a step boundary before abandoning it (Kubernetes' grace period is 30 s). */
const LEAVE_GRACE_MS = 25_000;

export class WorkerNode {
  private link: CoordinatorLink | undefined;
  /** The NATS server(s) the welcome names (or opts.natsUrl). */
  private natsUrl = '';
  private current: { jobId: string; controller: AbortController; done: Promise<RunnerOutcome | undefined> } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private leaving = false;
  private closedResolve!: (reason: string) => void;
  /** Resolves with a reason when the Join stream ends. */
  readonly closed = new Promise<string>((resolve) => (this.closedResolve = resolve));
  id = '';

  private readonly sessions: JobSessions;
  private readonly kernels = new KernelProbe();
  private readonly logger: Logger | undefined;
  private readonly faults: FaultInjector | undefined;

  constructor(private readonly opts: WorkerNodeOptions) {
    this.sessions = opts.sessions ?? new JobSessions();
    const log = opts.log;
    this.logger = opts.logger ?? (log ? lineLogger((line) => log(`[${this.id || 'worker'}] ${line}`)) : undefined);
    this.faults = opts.faults ?? FaultInjector.fromEnvironment((f) => this.logger?.warn({ worker: this.id, rank: f.rank, step: f.step, phase: f.phase }, 'fault injection: dying here'));
  }

  /** Joins the coordinator; resolves once it has welcomed this worker. */
  async start(): Promise<void> {
    let welcomed!: { resolve: () => void; reject: (err: Error) => void };
    const ready = new Promise<void>((resolve, reject) => (welcomed = { resolve, reject }));
    this.link = new CoordinatorLink(
      { coordinator: this.opts.coordinator, token: this.opts.token, ...(this.opts.ca ? { ca: this.opts.ca } : {}), hello: { workerId: this.opts.workerId ?? '', hostname: hostname(), backend: this.opts.backend, pid: process.pid, accelerator: this.opts.accelerator } },
      {
        onResponse: (res) => this.onResponse(res, welcomed),
        onClosed: (reason) => {
          welcomed.reject(new Error(reason));
          this.onClosed(reason);
        },
      },
    );
    await ready;
  }

  private onResponse(res: JoinResponse, welcomed: { resolve: () => void; reject: (err: Error) => void }): void {
    const msg = res.msg;
    if (!msg) return;
    switch (msg.$case) {
      case 'welcome': {
        this.id = msg.value.workerId;
        this.natsUrl = this.opts.natsUrl ?? msg.value.natsUrl;
        this.logger?.info({ worker: this.id, nats: this.natsUrl }, 'joined');
        welcomed.resolve();
        return;
      }
      case 'assignment':
        // A new generation of the job in hand replaces the running one at once: it is stuck
        // waiting for a lost peer, or must make room for a new one.
        if (this.current && !this.current.controller.signal.aborted) {
          this.current.controller.abort(new GenerationChangedError(msg.value.jobId, msg.value.generation));
        }
        this.enqueue(msg.value);
        return;
      case 'cancel':
        this.logger?.info({ worker: this.id, job: msg.value.jobId, reason: msg.value.reason }, 'job over for this worker');
        if (this.current?.jobId === msg.value.jobId && !this.current.controller.signal.aborted) {
          this.current.controller.abort(new JobCancelledError(msg.value.jobId, msg.value.reason));
        }
        // The job is over for this worker (also one that finished training and kept its state
        // in case rank 0 had to be replaced).
        this.queue = this.queue.then(() => this.sessions.drop(msg.value.jobId));
        return;
    }
  }

  private send(req: JoinRequest): void {
    this.link?.send(req);
  }

  private onClosed(reason: string): void {
    // Without the coordinator nobody collects the result: stop training.
    if (this.current && !this.current.controller.signal.aborted) this.current.controller.abort(new CoordinatorLostError(reason));
    this.closedResolve(reason);
  }

  private enqueue(assignment: Assignment): void {
    const controller = new AbortController();
    const done = this.queue.then(() => this.run(assignment, controller.signal));
    this.current = { jobId: assignment.jobId, controller, done };
    this.queue = done.catch(() => undefined);
  }

  private async run(a: Assignment, signal: AbortSignal): Promise<RunnerOutcome | undefined> {
    if (signal.aborted || this.leaving) return undefined;
    const nc = await this.connect(a, signal);
    if (!nc) return undefined;
    const ctx = {
      nc,
      workerId: this.id,
      sessions: this.sessions,
      kernels: this.kernels,
      send: (req: JoinRequest) => this.send(req),
      leaving: () => this.leaving,
      ...(this.logger ? { logger: this.logger } : {}),
      ...(this.faults ? { faults: this.faults } : {}),
    };
    try {
      return await runAssignment(ctx, a, signal);
    } finally {
      await nc.close().catch(() => undefined);
    }
  }

  /** The assignment's own NATS connection; undefined when it cannot be made (the coordinator is told) or the assignment is withdrawn first. */
  private async connect(a: Assignment, signal: AbortSignal): Promise<NatsConnection | undefined> {
    const fail = (error: string) => {
      this.logger?.warn({ worker: this.id, job: a.jobId, generation: a.generation, err: error }, 'failed');
      this.send({ msg: { $case: 'failed', value: { jobId: a.jobId, generation: a.generation, error } } });
      return undefined;
    };
    if (!a.natsCredentials) return fail('the assignment carries no NATS credentials (a coordinator older than this worker?)');
    // A server down now may come back: keep trying until then, or until the assignment is withdrawn.
    const connecting = connectNats(this.natsUrl, a.natsCredentials, { name: `syncline-worker-${this.id}`, waitOnFirstConnect: true, ...(this.opts.ca ? { ca: this.opts.ca } : {}), ...(this.logger ? { logger: this.logger } : {}) });
    let onAbort!: () => void;
    const aborted = new Promise<undefined>((resolve) => signal.addEventListener('abort', (onAbort = () => resolve(undefined)), { once: true }));
    try {
      const nc = await Promise.race([connecting, aborted]);
      if (nc === undefined) void connecting.then((late) => late.close(), () => undefined);
      return nc;
    } catch (err) {
      return fail(`cannot connect to NATS at ${this.natsUrl}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Leaves the cluster cleanly (SIGTERM, a Kubernetes eviction): a running job announces it in
   * its next step and every rank stops after that step, from where the others go on without
   * this worker; a job in its final evaluation or upload finishes first. Past `graceMs` the job
   * is abandoned (the others then redo at most one step).
   */
  async stop(graceMs = LEAVE_GRACE_MS): Promise<void> {
    this.leaving = true;
    const current = this.current;
    if (current && !current.controller.signal.aborted) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([current.done.catch(() => undefined), grace]);
      clearTimeout(timer);
      if (!current.controller.signal.aborted) current.controller.abort(new Error('worker stopping'));
    }
    await this.queue;
    await this.link?.close('worker leaving');
    this.closedResolve('stopped');
  }
}

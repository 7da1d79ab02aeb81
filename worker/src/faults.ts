// Failure injection, a test tool in the spirit of torchft's FailureInjector: a worker started
// with SYNCLINE_FAULT_PLAN=<plan.json> dies with SIGKILL (as under kill -9) where the plan says:
// job j, rank r, step s, phase p. Each fault fires once among all the workers that share the plan (they
// claim it in the plan's claims folder), so the rank that redoes a step does not die again at
// the same point. Without the variable none of this is created.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageBus, Subscription } from './allreduce/bus.js';
import { decodeFrame, FrameKind } from './allreduce/messages.js';
import type { StateStore } from './train/generation-start.js';

export const FaultPhase = [
  /** Computing the step's gradients. */
  'compute',
  /** Right after publishing the first data frame of the step's all-reduce. */
  'send',
  /** On receiving the first data frame of the step's all-reduce, before handling it. */
  'receive',
  /** While rank 0 writes the periodic checkpoint taken after the step (rank 0: in the write). */
  'checkpoint',
  /** In the final evaluation (step = the job's last step): rank 0 evaluates, the others are done with averaging. */
  'evaluate',
  /** While rank 0 uploads the model (rank 0: after its first file; step = the job's last step). */
  'upload',
] as const;
export type FaultPhase = (typeof FaultPhase)[number];

export interface Fault {
  /** The job's name (its spec's name). */
  job: string;
  rank: number;
  /** Steps count from 1, as in the step metrics: step s is the s-th step of the job. */
  step: number;
  phase: FaultPhase;
}

export interface FaultPlan {
  faults: Fault[];
  /** A folder shared by the workers of the plan, where each fault is claimed once. */
  claims: string;
}

export class FaultInjector {
  private job = '';
  private rank = -1;
  private step = -1;
  private plan: FaultPlan;

  /** `read` gives the plan; it is read again whenever another job starts, so a test can add faults job by job. */
  constructor(
    private readonly read: () => FaultPlan,
    private readonly log: (fault: Fault) => void = () => undefined,
    private readonly die: () => void = () => process.kill(process.pid, 'SIGKILL'),
  ) {
    this.plan = read();
  }

  /** The injector the environment asks for, if any. */
  static fromEnvironment(log?: (fault: Fault) => void): FaultInjector | undefined {
    const file = process.env.SYNCLINE_FAULT_PLAN;
    if (!file) return undefined;
    return new FaultInjector(() => JSON.parse(readFileSync(file, 'utf8')) as FaultPlan, log);
  }

  /** Where this worker is now: the job's name, its rank, and the step it computes (or, after training, the last one). */
  at(job: string, rank: number, step: number): void {
    if (job !== this.job) this.plan = this.read();
    this.job = job;
    this.rank = rank;
    this.step = step;
  }

  /** Dies now if the plan has an unclaimed fault here. */
  check(phase: FaultPhase): void {
    if (this.claim(phase)) this.die();
  }

  /** `store` whose writes die half-way (once the write has begun) where the plan says so. */
  duringWrite(store: StateStore, phase: FaultPhase): StateStore {
    return {
      load: (name) => store.load(name),
      save: (name, bytes) => {
        const writing = store.save(name, bytes);
        if (this.claim(phase)) setImmediate(this.die);
        return writing;
      },
    };
  }

  /** `bus` that dies on the step's first data frame sent or received, where the plan says so. */
  bus(inner: MessageBus): MessageBus {
    const isData = (bytes: Uint8Array) => {
      const kind = decodeFrame(bytes)?.kind;
      return kind === FrameKind.reduce || kind === FrameKind.gather;
    };
    return {
      maxPayload: inner.maxPayload,
      publish: (subject, data) => {
        inner.publish(subject, data);
        // After the client flushed what it just published: part of the step has left.
        if (isData(data) && this.claim('send')) setImmediate(this.die);
      },
      subscribe: (subject, onMessage): Subscription =>
        inner.subscribe(subject, (data) => {
          if (isData(data)) this.check('receive');
          onMessage(data);
        }),
      flush: () => inner.flush(),
      ...(inner.onReconnect ? { onReconnect: (listener: () => void) => inner.onReconnect!(listener) } : {}),
    };
  }

  private claim(phase: FaultPhase): boolean {
    const index = this.plan.faults.findIndex((f) => f.phase === phase && f.job === this.job && f.rank === this.rank && f.step === this.step);
    if (index < 0) return false;
    try {
      mkdirSync(join(this.plan.claims, String(index)));
    } catch {
      return false; // another worker fired it already
    }
    this.log(this.plan.faults[index]!);
    return true;
  }
}

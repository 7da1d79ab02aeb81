// Rank 0 stores the job's state every K completed steps, for the case where every worker is
// lost or the coordinator restarts: the job then resumes from there. The state is taken at the
// step boundary and written in the background while training goes on, so a slow store (a NATS
// cluster electing a new leader) never stalls the steps. One write at a time: a checkpoint due
// while the last one is still being written is skipped (the next one is K steps later).
import type { Assignment } from '@syncline/proto';
import type { FaultInjector } from '../faults.js';
import type { EarlyStoppingState } from './early-stopping.js';
import { snapshotState, type StateStore } from './generation-start.js';
import type { Replica } from './trainer.js';

/** Steps between checkpoints when the spec does not say. */
export const DEFAULT_CHECKPOINT_EVERY = 100;

export interface CheckpointEvents {
  onSaved?: (step: number, object: string) => void;
  /** A write failed after its retries: the job goes on, and the next checkpoint tries again. */
  onFailed?: (step: number, err: unknown) => void;
}

export class PeriodicCheckpoint {
  private readonly every: number;
  private busy = false;

  constructor(
    private readonly assignment: Assignment,
    private readonly states: StateStore | undefined,
    private readonly totalSteps: number,
    private readonly events: CheckpointEvents = {},
    private readonly faults?: FaultInjector,
  ) {
    this.every = assignment.spec?.training?.checkpointEverySteps || DEFAULT_CHECKPOINT_EVERY;
  }

  /**
   * After `completed` steps: takes the state when it is rank 0's turn (not after the last step:
   * the model is published then); false when a write in progress made it skip this one.
   */
  async after(completed: number, replica: Replica, earlyStopping?: EarlyStoppingState): Promise<boolean> {
    const { rank, checkpointObject } = this.assignment;
    if (!this.states || !checkpointObject || completed % this.every !== 0 || completed >= this.totalSteps) return true;
    if (rank !== 0) {
      this.faults?.check('checkpoint');
      return true;
    }
    if (this.busy) return false;
    this.busy = true;
    const bytes = await snapshotState(replica, completed, earlyStopping);
    const states = this.faults ? this.faults.duringWrite(this.states, 'checkpoint') : this.states;
    void states
      .save(checkpointObject, bytes)
      .then(
        () => this.events.onSaved?.(completed, checkpointObject),
        (err: unknown) => this.events.onFailed?.(completed, err),
      )
      .finally(() => (this.busy = false));
    return true;
  }
}

// Rank 0 stores the job's state every K completed steps, for the case where every worker is
// lost or the coordinator restarts: the job then resumes from there.
import type { Assignment } from '@syncline/proto';
import type { FaultInjector } from '../faults.js';
import { saveState, type StateStore } from './generation-start.js';
import type { Replica } from './trainer.js';

/** Steps between checkpoints when the spec does not say. */
export const DEFAULT_CHECKPOINT_EVERY = 100;

export class PeriodicCheckpoint {
  private readonly every: number;

  constructor(
    private readonly assignment: Assignment,
    private readonly states: StateStore | undefined,
    private readonly totalSteps: number,
    private readonly onSaved?: (step: number, object: string) => void,
    private readonly faults?: FaultInjector,
  ) {
    this.every = assignment.spec?.training?.checkpointEverySteps || DEFAULT_CHECKPOINT_EVERY;
  }

  /** After `completed` steps: stores the state when it is rank 0's turn (not after the last step: the model is published then). */
  async after(completed: number, replica: Replica): Promise<void> {
    const { rank, checkpointObject } = this.assignment;
    if (!this.states || !checkpointObject || completed % this.every !== 0 || completed >= this.totalSteps) return;
    if (rank !== 0) {
      this.faults?.check('checkpoint');
      return;
    }
    const states = this.faults ? this.faults.duringWrite(this.states, 'checkpoint') : this.states;
    await saveState(states, checkpointObject, replica, completed);
    this.onSaved?.(completed, checkpointObject);
  }
}

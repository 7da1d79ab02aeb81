// The contract between the Collective (routing, timeouts, cancellation) and one algorithm run for one step.
import type { ChunkLayout } from './chunking.js';
import type { MissingFromRank } from './errors.js';
import type { Frame } from './messages.js';

export interface RoundContext {
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  /** All-reduce step or broadcast tag. */
  readonly step: number;
  readonly layout: ChunkLayout;
  /** Names the operation in errors, e.g. "allReduceSum step 3". */
  readonly operation: string;
  send(frame: Uint8Array): void;
  resolve(result: Float32Array): void;
  reject(error: Error): void;
}

/** One operation in flight. Receives only frames of its own kind, generation and step, from other ranks. */
export interface Round {
  receive(frame: Frame): void;
  /** What has not arrived yet, for the timeout error. */
  missing(): MissingFromRank[];
}

/** Publishes this rank's part and returns the round that collects the others'. May settle synchronously. */
export type AllReduceAlgorithm = (ctx: RoundContext, data: Float32Array) => Round;

// The contract between the Collective (routing, timeouts, cancellation) and one algorithm run for one step.
import type { ChunkLayout } from './chunking.js';
import type { MissingFromRank } from './errors.js';
import type { ErrorFeedback } from './error-feedback.js';
import type { Encoding } from './codec.js';
import type { AlgorithmId, Frame, FrameHeader, FrameKind } from './messages.js';

export interface RoundContext {
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  /** All-reduce step or broadcast tag. */
  readonly step: number;
  /** Elements in the buffer. */
  readonly length: number;
  /** Largest message in bytes, header included. */
  readonly maxChunkBytes: number;
  /** At most this many bytes of this operation should wait in the server for any one rank (window.ts). */
  readonly inFlightBytes: number;
  /**
   * `length` zeros of float64 working space, reused from step to step (steps run one at a time) so that
   * large sums do not churn the garbage collector. One call per operation; never part of a result.
   */
  scratch(length: number): Float64Array;
  /** Names the operation in errors, e.g. "allReduceSum step 3". */
  readonly operation: string;
  /** Publishes to one rank's own subject: only that rank receives it. */
  sendTo(rank: number, frame: Uint8Array): void;
  /** Publishes once on this rank's fan-out subject: the server delivers it to every other rank. */
  sendToAll(frame: Uint8Array): void;
  /** Publishes a control frame (an acknowledgement) to one rank; it is never sent again on request. */
  sendControl(rank: number, frame: Uint8Array): void;
  resolve(result: Float32Array): void;
  reject(error: Error): void;
}

/** One operation in flight. Receives only frames of its own kind, generation and step, from other ranks. */
export interface Round {
  receive(frame: Frame): void;
  /** What has not arrived yet, for the timeout error. */
  missing(): MissingFromRank[];
  /** Rank `rank` holds this operation's chunks 0 ..< `received` (a broadcast's flow control). */
  acknowledged?(rank: number, received: number): void;
}

/**
 * What travels on the wire, and what it costs in accuracy (u = 2^-11, float16's unit roundoff; S = Σ|x|
 * over ranks for one element; checked in allreduce-algorithms.test.ts):
 * - none: float32 (the ring's partial sums float64). Direct and sharded equal the rank-order float64 sum
 *   rounded once, bit for bit; the ring the ring-order one (ring.ts).
 * - fp16: half the bytes. Inputs and results are rounded to float16 (beyond ±65504 they become ±Inf):
 *   |error| ≤ u·S direct (each input once), 2u·S sharded (travelling inputs, then the result), N·u·S
 *   ring (the partial sum at each of N steps), plus 2^-25 per rounding below float16's normal range.
 * - int8: a quarter of the bytes. Each frame is quantized with one scale, max|value|/127; what a rank
 *   loses is added to its next step (error-feedback.ts), so errors do not accumulate: per step
 *   |error| ≤ 2N·R and over any number of steps |Σ outputs − Σ true sums| ≤ N·R, where a rank's
 *   residual R ≤ N·max|x| / (254 − N).
 * Every rank always ends with the same bits: each element's owner rounds it, and everyone else decodes
 * exactly what the owner kept.
 */
export const Compression = ['none', 'fp16', 'int8'] as const;
export type Compression = (typeof Compression)[number];

export interface AllReduceContext extends RoundContext {
  readonly compression: Compression;
  /**
   * Elements from here on travel uncompressed whatever `compression` says (a step's statistics
   * after its gradients); undefined when the whole buffer follows `compression`.
   */
  readonly exactFrom: number | undefined;
  /**
   * int8 only: this rank's residual (what quantization lost last step, to add to this step's input).
   * Every element this rank encodes gets its new residual written here, exactly once per step.
   */
  readonly feedback: ErrorFeedback | undefined;
}

/** One all-reduce algorithm: publishes this rank's part and returns the round that collects the rest. May settle synchronously. */
export interface AllReduceAlgorithm {
  readonly name: AlgorithmName;
  readonly id: AlgorithmId;
  begin(ctx: AllReduceContext, data: Float32Array): Round;
}

export const AlgorithmName = ['direct', 'ring', 'sharded'] as const;
export type AlgorithmName = (typeof AlgorithmName)[number];

/** The header fields an algorithm sets for one chunk; the rest come from the context. */
export function chunkHeader(
  ctx: RoundContext,
  fields: { kind: FrameKind; algorithm: AlgorithmId; encoding: Encoding; chunkIndex: number; chunkCount: number; elementOffset: number; elementCount: number },
): FrameHeader {
  return {
    ...fields,
    wantsReply: false,
    generation: ctx.generation,
    step: ctx.step,
    sender: ctx.rank,
    totalLength: ctx.length,
    scale: 0,
  };
}

const ALGORITHM_NAMES: Readonly<Record<AlgorithmId, string>> = { 0: 'no', 1: 'the direct', 2: 'the ring', 3: 'the sharded' };
const ENCODING_NAMES: Readonly<Record<Encoding, string>> = { 0: 'float32', 1: 'float64', 2: 'fp16', 3: 'int8' };

/**
 * Why a peer's data frame cannot belong to this round (another algorithm, compression or layout), for
 * AllReduceMismatchError; undefined when it fits.
 */
export function frameMismatch(
  ctx: RoundContext,
  layout: ChunkLayout,
  frame: Frame,
  algorithm: AlgorithmId,
  encoding: Encoding,
): string | undefined {
  if (frame.algorithm !== algorithm) {
    return `rank ${frame.sender} runs ${ALGORITHM_NAMES[frame.algorithm]} all-reduce, rank ${ctx.rank} runs ${ALGORITHM_NAMES[algorithm]} one (same communication settings on every rank?)`;
  }
  if (frame.encoding !== encoding) {
    return `rank ${frame.sender} sent ${ENCODING_NAMES[frame.encoding]} elements, rank ${ctx.rank} expects ${ENCODING_NAMES[encoding]} (same compression on every rank?)`;
  }
  return layout.matches(frame) ? undefined : layout.mismatch(frame, ctx.rank);
}

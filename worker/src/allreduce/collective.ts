// A rank's handle on one job generation's collective operations over a MessageBus: it owns the
// subscriptions, routes incoming frames to the operation they belong to, enforces timeouts, aborts
// and close, and keeps the job's int8 error-feedback state. The algorithms live in their own files
// (direct.ts, ring.ts, sharded.ts); select.ts picks one.
//
// Core NATS may lose messages in an outage (a server restart, a cluster node lost). An operation
// that stops making progress asks the peers it waits on for the chunks it misses; they send again
// what they sent (sent-frames.ts keeps it), so the step completes, identical on every rank, instead
// of timing out. Duplicates are harmless: every round ignores a chunk it has already.
import type { MessageBus, Subscription } from './bus.js';
import { StartBarrier } from './barrier.js';
import { receiveBroadcast, sendBroadcast } from './broadcast.js';
import { ErrorFeedback } from './error-feedback.js';
import { AllReduceAbortedError, AllReduceTimeoutError, CollectiveClosedError, type MissingFromRank } from './errors.js';
import { controlHeader, decodeFrame, encodeFrame, encodeResend, FrameKind, HEADER_BYTES, MAX_UINT32, MAX_WORLD_SIZE, resendChunks, type Frame } from './messages.js';
import { Operation } from './operation.js';
import type { AlgorithmName, AllReduceContext, Compression, Round, RoundContext } from './round.js';
import { RoundRouter } from './round-router.js';
import { selectAlgorithm, type AlgorithmChoice } from './select.js';
import { EVERY_PEER, SentFrames } from './sent-frames.js';
import { StallWatcher } from './stall.js';
import { allReduceSubject, fanOutSubject, inboxSubject } from './subject.js';
import { DEFAULT_IN_FLIGHT_BYTES } from './window.js';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;

export interface CollectiveOptions {
  bus: MessageBus;
  jobId: string;
  generation: number;
  rank: number;
  worldSize: number;
  /** How long one collective operation may wait for peers. */
  timeoutMs: number;
  /** How long the start barrier may wait for peers; default timeoutMs. */
  startTimeoutMs?: number;
  /**
   * Max bytes per message; defaults to bus.maxPayload, capped at 1 MiB (larger messages cost the NATS
   * client more copying, and pipeline less: see worker/bench/allreduce.ts). Tests set it small to force
   * many chunks.
   */
  maxChunkBytes?: number;
  /**
   * Bytes of one operation that may wait in the server for any one rank; default 32 MiB, half of
   * nats-server's default max_pending, beyond which it drops the rank as a slow consumer.
   */
  maxInFlightBytes?: number;
  /** Default "auto": chosen per call by buffer size and world size (select.ts). */
  algorithm?: AlgorithmChoice;
  /** Default "none". Lossy and opt-in: "fp16" halves the bytes, "int8" quarters them with error feedback. */
  compression?: Compression;
}

export class Collective {
  private readonly bus: MessageBus;
  private readonly rank: number;
  private readonly worldSize: number;
  private readonly generation: number;
  private readonly timeoutMs: number;
  private readonly startTimeoutMs: number;
  private readonly helloSubject: string;
  private readonly inboxes: string[];
  private readonly fanOuts: string[];
  private readonly maxChunkBytes: number;
  private readonly inFlightBytes: number;
  private readonly algorithm: AlgorithmChoice;
  private readonly compression: Compression;
  /** int8 residuals, by buffer length (a training step may all-reduce several buffers in turn). */
  private readonly feedback = new Map<number, ErrorFeedback>();
  private scratch = new Float64Array(0);
  private readonly reductions: RoundRouter;
  private readonly broadcasts: RoundRouter;
  /** What this rank sent, per kind of operation, for peers that ask again. */
  private readonly sent = new Map<RoundRouter, SentFrames>();
  /** The running operation's stall watcher, per kind. */
  private readonly stalls = new Map<RoundRouter, StallWatcher>();
  private stopReconnects: (() => void) | undefined;
  private readonly pending = new Set<Pick<Operation<unknown>, 'name' | 'reject'>>();
  private subscriptions: Subscription[] = [];
  private barrier: StartBarrier | undefined;
  private started: Promise<void> | undefined;
  private closed = false;

  constructor(opts: CollectiveOptions) {
    const { bus, rank, worldSize, generation, timeoutMs } = opts;
    if (!Number.isInteger(worldSize) || worldSize < 1 || worldSize > MAX_WORLD_SIZE) {
      throw new RangeError(`worldSize must be an integer in 1..${MAX_WORLD_SIZE}, got ${worldSize}`);
    }
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
      throw new RangeError(`rank must be an integer in 0..${worldSize - 1}, got ${rank}`);
    }
    assertUint32('generation', generation);
    // setTimeout treats anything above 2^31-1 ms as 1 ms, which would fail every operation at once.
    for (const [what, ms] of [['timeoutMs', timeoutMs], ['startTimeoutMs', opts.startTimeoutMs ?? timeoutMs]] as const) {
      if (!(ms > 0 && ms <= MAX_TIMEOUT_MS)) throw new RangeError(`${what} must be in (0, ${MAX_TIMEOUT_MS}], got ${ms}`);
    }
    const maxChunkBytes = opts.maxChunkBytes ?? Math.min(bus.maxPayload, DEFAULT_CHUNK_BYTES);
    if (maxChunkBytes > bus.maxPayload) {
      throw new RangeError(`maxChunkBytes ${maxChunkBytes} exceeds the transport's max payload ${bus.maxPayload}`);
    }
    // Room for one float64 element (the ring's partial sums), the widest encoding.
    if (!(maxChunkBytes >= HEADER_BYTES + 8)) {
      throw new RangeError(`maxChunkBytes ${maxChunkBytes} leaves no room for data after the ${HEADER_BYTES}-byte header`);
    }
    this.bus = bus;
    this.rank = rank;
    this.worldSize = worldSize;
    this.generation = generation;
    this.timeoutMs = timeoutMs;
    this.startTimeoutMs = opts.startTimeoutMs ?? timeoutMs;
    this.helloSubject = allReduceSubject(opts.jobId, generation);
    this.inboxes = Array.from({ length: worldSize }, (_, r) => inboxSubject(opts.jobId, generation, r));
    this.fanOuts = Array.from({ length: worldSize }, (_, r) => fanOutSubject(opts.jobId, generation, r));
    this.maxChunkBytes = maxChunkBytes;
    this.inFlightBytes = opts.maxInFlightBytes ?? DEFAULT_IN_FLIGHT_BYTES;
    if (!(this.inFlightBytes > 0)) throw new RangeError(`maxInFlightBytes must be positive, got ${this.inFlightBytes}`);
    // Frames of future steps wait (a peer may be one operation ahead), within a bound.
    this.reductions = new RoundRouter(2 * this.inFlightBytes);
    this.broadcasts = new RoundRouter(2 * this.inFlightBytes);
    this.sent.set(this.reductions, new SentFrames());
    this.sent.set(this.broadcasts, new SentFrames());
    this.algorithm = opts.algorithm ?? 'auto';
    // With one rank nothing travels, so there is nothing to compress.
    this.compression = worldSize === 1 ? 'none' : (opts.compression ?? 'none');
  }

  /**
   * Subscribes, then waits until every peer is subscribed too (a barrier robust to any start order and
   * to late joiners: core NATS has no replay, so a message published before a peer subscribed is lost).
   * Later calls return the first call's promise.
   */
  start(signal?: AbortSignal): Promise<void> {
    this.started ??= this.runStart(signal);
    return this.started;
  }

  /**
   * Element-wise sum over all ranks of `data` (same length on every rank) for this step. Every rank gets
   * bit-identical results: each element's owner accumulates in float64 in a fixed order and rounds to
   * float32 once (direct and sharded: rank order, so the result equals the local sum exactly; ring: ring
   * order, see ring.ts). Compression makes it lossy within the bounds stated with `Compression` (round.ts);
   * int8 keeps one residual per buffer length, so a step that all-reduces several buffers of different
   * lengths in turn keeps each one's (two buffers of the same length would share one).
   * Steps run one at a time and must increase; a failed step is not retried under the same number.
   * `data` must not change until the promise settles. `exactFrom`: elements from there on are
   * reduced exactly whatever the compression (a training step's statistics after its gradients;
   * every rank must pass the same).
   */
  allReduceSum(data: Float32Array, step: number, signal?: AbortSignal, opts: { exactFrom?: number } = {}): Promise<Float32Array> {
    const name = `allReduceSum step ${step}`;
    const refusal = this.refuse(name, signal) ?? uint32Refusal('step', step) ?? this.reductions.refuse(step);
    if (refusal !== undefined) return Promise.reject(refusal);
    const algorithm = selectAlgorithm(this.algorithm, data.byteLength, this.worldSize);
    const feedback = this.compression === 'int8' ? this.feedbackFor(data.length) : undefined;
    // Without compression every element travels exact anyway: no need to cut the buffer at exactFrom.
    const exactFrom = this.compression === 'none' || opts.exactFrom === undefined || opts.exactFrom >= data.length ? undefined : Math.max(0, opts.exactFrom);
    const result = this.run(name, this.reductions, step, data.length, signal, (ctx) =>
      algorithm.begin({ ...ctx, compression: this.compression, feedback, exactFrom } satisfies AllReduceContext, data),
    );
    if (feedback === undefined) return result;
    return result.catch((err: unknown) => {
      feedback.discard();
      throw err;
    });
  }

  /** The algorithm `allReduceSum` uses for a buffer of `length` elements. */
  algorithmFor(length: number): AlgorithmName {
    return selectAlgorithm(this.algorithm, length * Float32Array.BYTES_PER_ELEMENT, this.worldSize).name;
  }

  /**
   * Rank `root` sends `data`, every rank (root included) returns it. Non-root ranks pass the expected
   * length (and their `data` is ignored). `tag` distinguishes successive broadcasts: tags must increase.
   */
  broadcast(
    data: Float32Array | null,
    length: number,
    root: number,
    tag: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const name = `broadcast tag ${tag} from rank ${root}`;
    const isRoot = root === this.rank;
    const refusal =
      this.refuse(name, signal) ??
      uint32Refusal('tag', tag) ??
      uint32Refusal('length', length) ??
      (Number.isInteger(root) && root >= 0 && root < this.worldSize ? undefined : new RangeError(`${name}: no such rank`)) ??
      (isRoot && data === null ? new TypeError(`${name}: the root must pass data`) : undefined) ??
      (isRoot && data !== null && data.length !== length
        ? new RangeError(`${name}: data has ${data.length} elements, length says ${length}`)
        : undefined) ??
      this.broadcasts.refuse(tag);
    if (refusal !== undefined) return Promise.reject(refusal);
    return this.run(name, this.broadcasts, tag, length, signal, (ctx) =>
      isRoot && data !== null ? sendBroadcast(ctx, data) : receiveBroadcast(ctx, root),
    );
  }

  /** Rejects pending operations with CollectiveClosedError, unsubscribes and stops all timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.barrier?.stop();
    for (const op of [...this.pending]) op.reject(new CollectiveClosedError(op.name));
    this.reductions.clear();
    this.broadcasts.clear();
    for (const sent of this.sent.values()) sent.clear();
    this.stopReconnects?.();
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    this.feedback.clear();
    this.scratch = new Float64Array(0);
  }

  private runStart(signal: AbortSignal | undefined): Promise<void> {
    const name = 'start barrier';
    const refusal = this.closed ? new CollectiveClosedError(name) : abortRefusal(name, signal);
    if (refusal !== undefined) return Promise.reject(refusal);
    const barrier = new StartBarrier(
      this.rank,
      this.worldSize,
      (wantsReply) => {
        try {
          this.sendHello(wantsReply);
        } catch (err) {
          op.reject(err);
        }
      },
      () => op.resolve(),
    );
    const op = this.track<void>(name, signal, () => barrier.missing(), () => barrier.stop(), this.startTimeoutMs);
    this.barrier = barrier;
    try {
      const subjects = [this.helloSubject, this.inboxes[this.rank]!, ...this.fanOuts.filter((_, r) => r !== this.rank)];
      for (const subject of subjects) this.subscriptions.push(this.bus.subscribe(subject, (bytes) => this.onMessage(bytes)));
      this.stopReconnects = this.bus.onReconnect?.(() => {
        for (const watcher of this.stalls.values()) watcher.nudge();
      });
    } catch (err) {
      op.reject(err);
      return op.promise;
    }
    // The flush makes "subscribed" true at the server before peers are asked to count on it. The server
    // handles a connection's subscriptions in order, so a hello heard proves all of them are in place.
    this.bus.flush().then(
      () => barrier.begin(),
      (err: unknown) => op.reject(err),
    );
    return op.promise;
  }

  private run(
    name: string,
    router: RoundRouter,
    step: number,
    length: number,
    signal: AbortSignal | undefined,
    begin: (ctx: RoundContext) => Round,
  ): Promise<Float32Array> {
    let round: Round | undefined;
    const sent = this.sent.get(router)!;
    sent.begin(step);
    const resendKind = router === this.reductions ? FrameKind.resendReduction : FrameKind.resendBroadcast;
    const watcher = new StallWatcher(() => this.requestMissing(resendKind, step, round?.missing() ?? []));
    this.stalls.set(router, watcher);
    const op = this.track<Float32Array>(
      name,
      signal,
      () => round?.missing() ?? [],
      () => {
        watcher.stop();
        if (this.stalls.get(router) === watcher) this.stalls.delete(router);
        router.finish(step);
      },
    );
    const ctx: RoundContext = {
      rank: this.rank,
      worldSize: this.worldSize,
      generation: this.generation,
      step,
      length,
      maxChunkBytes: this.maxChunkBytes,
      inFlightBytes: this.inFlightBytes,
      scratch: (size) => {
        if (this.scratch.length < size) this.scratch = new Float64Array(size);
        return this.scratch.subarray(0, size).fill(0);
      },
      operation: name,
      sendTo: (rank, frame) => {
        sent.record(step, rank, frame);
        this.bus.publish(this.inboxes[rank]!, frame);
      },
      sendToAll: (frame) => {
        sent.record(step, EVERY_PEER, frame);
        this.bus.publish(this.fanOuts[this.rank]!, frame);
      },
      sendControl: (rank, frame) => this.bus.publish(this.inboxes[rank]!, frame),
      resolve: (result) => op.resolve(result),
      reject: (error) => op.reject(error),
    };
    try {
      round = begin(ctx);
    } catch (err) {
      op.reject(err);
    }
    if (round !== undefined && !op.done) router.open(step, round);
    return op.promise;
  }

  private track<T>(
    name: string,
    signal: AbortSignal | undefined,
    missing: () => MissingFromRank[],
    onSettled: () => void,
    timeoutMs = this.timeoutMs,
  ): Operation<T> {
    const op: Operation<T> = new Operation<T>(name, {
      timeoutMs,
      signal,
      onTimeout: () => new AllReduceTimeoutError({ rank: this.rank, operation: name, timeoutMs, missing: missing() }),
      onSettled: () => {
        this.pending.delete(op);
        onSettled();
      },
    });
    this.pending.add(op);
    return op;
  }

  /** Runs inside the transport's subscription callback, so it must never throw. */
  private onMessage(bytes: Uint8Array): void {
    if (this.closed) return;
    try {
      this.route(bytes);
    } catch (err) {
      // Escaping into nats.js would close the whole connection, the worker's other traffic included;
      // failing this rank's pending operations keeps the bug visible without that.
      for (const op of [...this.pending]) op.reject(err);
    }
  }

  private route(bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    // Our own hellos come back from the server (NATS echoes); data subjects never carry our own frames.
    if (frame === null || frame.generation !== this.generation || frame.sender === this.rank) return;
    if (frame.sender >= this.worldSize) return;
    switch (frame.kind) {
      case FrameKind.hello:
        this.barrier?.heardFrom(frame.sender);
        if (frame.wantsReply) this.replyHello();
        return;
      case FrameKind.reduce:
      case FrameKind.gather:
        this.stalls.get(this.reductions)?.progress();
        this.reductions.deliver(frame);
        return;
      case FrameKind.broadcast:
        this.stalls.get(this.broadcasts)?.progress();
        this.broadcasts.deliver(frame);
        return;
      case FrameKind.resendReduction:
      case FrameKind.resendBroadcast:
        this.resend(frame);
        return;
      case FrameKind.ack:
        this.broadcasts.acknowledge(frame.step, frame.sender, frame.chunkIndex);
        return;
    }
  }

  /** Asks each peer the operation waits on for the chunks it misses from it. */
  private requestMissing(kind: typeof FrameKind.resendReduction | typeof FrameKind.resendBroadcast, step: number, missing: MissingFromRank[]): void {
    // Chunk ids travel as uint32s: as many per request as a message holds.
    const perFrame = Math.max(1, Math.floor((this.maxChunkBytes - HEADER_BYTES) / 4));
    try {
      for (const { rank, chunks, chunkCount } of missing) {
        if (chunkCount === 0 || rank === this.rank) continue;
        for (let i = 0; i < chunks.length; i += perFrame) {
          this.bus.publish(this.inboxes[rank]!, encodeResend(kind, this.generation, step, this.rank, chunks.slice(i, i + perFrame)));
        }
      }
    } catch {
      // The transport is failing; the next stall asks again, and the timeout bounds the wait.
    }
  }

  /** A peer asks again for frames it misses: send what this rank sent it, if it still has them. */
  private resend(request: Frame): void {
    const router = request.kind === FrameKind.resendBroadcast ? this.broadcasts : this.reductions;
    const chunks = resendChunks(request);
    try {
      for (const frame of this.sent.get(router)!.framesFor(request.step, request.sender, chunks)) this.bus.publish(this.inboxes[request.sender]!, frame);
    } catch {
      // As above: the requester asks again.
    }
    // What a broadcast receiver misses also says what it holds: chunks below the first it asks for.
    if (router === this.broadcasts && chunks.length > 0) router.acknowledge(request.step, request.sender, Math.min(...chunks));
  }

  private replyHello(): void {
    try {
      this.sendHello(false);
    } catch {
      // The transport is failing; the peer repeats its hello, and our own operations surface the failure.
    }
  }

  private sendHello(wantsReply: boolean): void {
    this.bus.publish(this.helloSubject, encodeFrame(controlHeader(FrameKind.hello, this.generation, 0, this.rank, wantsReply), new Float32Array(0)));
  }

  private feedbackFor(length: number): ErrorFeedback {
    let feedback = this.feedback.get(length);
    if (feedback === undefined) this.feedback.set(length, (feedback = new ErrorFeedback(length)));
    return feedback;
  }

  /** Why an operation cannot start at all (nothing sent, no step used), or undefined. */
  private refuse(name: string, signal: AbortSignal | undefined): Error | undefined {
    if (this.closed) return new CollectiveClosedError(name);
    if (this.barrier?.complete !== true) return new Error(`${name}: call start() and await it first`);
    return abortRefusal(name, signal);
  }
}

function abortRefusal(name: string, signal: AbortSignal | undefined): Error | undefined {
  return signal?.aborted ? new AllReduceAbortedError(name, { cause: signal.reason }) : undefined;
}

function uint32Refusal(what: string, value: number): Error | undefined {
  return Number.isInteger(value) && value >= 0 && value <= MAX_UINT32
    ? undefined
    : new RangeError(`${what} must be an integer in 0..${MAX_UINT32}, got ${value}`);
}

function assertUint32(what: string, value: number): void {
  const refusal = uint32Refusal(what, value);
  if (refusal !== undefined) throw refusal;
}

// A rank's handle on one job generation's collective operations over a MessageBus: it owns the
// subscription, routes incoming frames to the operation they belong to, and enforces timeouts,
// aborts and close. The reduction algorithm itself lives in its own file (direct.ts).
import type { MessageBus, Subscription } from './bus.js';
import { ChunkLayout, elementsPerChunk } from './chunking.js';
import { StartBarrier } from './barrier.js';
import { receiveBroadcast, sendBroadcast } from './broadcast.js';
import { directAllReduce } from './direct.js';
import { AllReduceAbortedError, AllReduceTimeoutError, CollectiveClosedError, type MissingFromRank } from './errors.js';
import { decodeFrame, encodeFrame, FrameKind, MAX_UINT32, MAX_WORLD_SIZE } from './messages.js';
import { Operation } from './operation.js';
import type { AllReduceAlgorithm, Round, RoundContext } from './round.js';
import { RoundRouter } from './round-router.js';
import { allReduceSubject } from './subject.js';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface CollectiveOptions {
  bus: MessageBus;
  jobId: string;
  generation: number;
  rank: number;
  worldSize: number;
  /** How long one collective operation (or the start barrier) may wait for peers. */
  timeoutMs: number;
  /** Max bytes per message; defaults to bus.maxPayload. Tests set it small to force many chunks. */
  maxChunkBytes?: number;
}

export class Collective {
  private readonly bus: MessageBus;
  private readonly rank: number;
  private readonly worldSize: number;
  private readonly generation: number;
  private readonly timeoutMs: number;
  private readonly subject: string;
  private readonly elementsPerChunk: number;
  /** The one algorithm for now; a ring or sharded reduce-scatter would be chosen here. */
  private readonly algorithm: AllReduceAlgorithm = directAllReduce;
  private readonly reductions = new RoundRouter();
  private readonly broadcasts = new RoundRouter();
  private readonly pending = new Set<Pick<Operation<unknown>, 'name' | 'reject'>>();
  private subscription: Subscription | undefined;
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
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      throw new RangeError(`timeoutMs must be in (0, ${MAX_TIMEOUT_MS}], got ${timeoutMs}`);
    }
    const maxChunkBytes = opts.maxChunkBytes ?? bus.maxPayload;
    if (maxChunkBytes > bus.maxPayload) {
      throw new RangeError(`maxChunkBytes ${maxChunkBytes} exceeds the transport's max payload ${bus.maxPayload}`);
    }
    this.bus = bus;
    this.rank = rank;
    this.worldSize = worldSize;
    this.generation = generation;
    this.timeoutMs = timeoutMs;
    this.subject = allReduceSubject(opts.jobId, generation);
    this.elementsPerChunk = elementsPerChunk(maxChunkBytes);
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
   * bit-identical results: accumulate in float64 in rank order, then round to float32 once.
   * Steps run one at a time and must increase; a failed step is not retried under the same number.
   * `data` must not change until the promise settles.
   */
  allReduceSum(data: Float32Array, step: number, signal?: AbortSignal): Promise<Float32Array> {
    const name = `allReduceSum step ${step}`;
    const refusal = this.refuse(name, signal) ?? uint32Refusal('step', step) ?? this.reductions.refuse(step);
    if (refusal !== undefined) return Promise.reject(refusal);
    return this.run(name, this.reductions, step, data.length, signal, (ctx) => this.algorithm(ctx, data));
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
    this.subscription?.unsubscribe();
    this.subscription = undefined;
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
    const op = this.track<void>(name, signal, () => barrier.missing(), () => barrier.stop());
    this.barrier = barrier;
    try {
      this.subscription = this.bus.subscribe(this.subject, (bytes) => this.onMessage(bytes));
    } catch (err) {
      op.reject(err);
      return op.promise;
    }
    // The flush makes "subscribed" true at the server before peers are asked to count on it.
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
    const op = this.track<Float32Array>(
      name,
      signal,
      () => round?.missing() ?? [],
      () => router.finish(step),
    );
    const ctx: RoundContext = {
      rank: this.rank,
      worldSize: this.worldSize,
      generation: this.generation,
      step,
      layout: new ChunkLayout(length, this.elementsPerChunk),
      operation: name,
      send: (frame) => this.bus.publish(this.subject, frame),
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
  ): Operation<T> {
    const op: Operation<T> = new Operation<T>(name, {
      timeoutMs: this.timeoutMs,
      signal,
      onTimeout: () =>
        new AllReduceTimeoutError({ rank: this.rank, operation: name, timeoutMs: this.timeoutMs, missing: missing() }),
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
    // Our own frames come back from the server (NATS echoes); we already counted our contribution.
    if (frame === null || frame.generation !== this.generation || frame.sender === this.rank) return;
    if (frame.sender >= this.worldSize) return;
    switch (frame.kind) {
      case FrameKind.hello:
        this.barrier?.heardFrom(frame.sender);
        if (frame.wantsReply) this.replyHello();
        return;
      case FrameKind.data:
        this.reductions.deliver(frame);
        return;
      case FrameKind.broadcast:
        this.broadcasts.deliver(frame);
        return;
    }
  }

  private replyHello(): void {
    try {
      this.sendHello(false);
    } catch {
      // The transport is failing; the peer repeats its hello, and our own operations surface the failure.
    }
  }

  private sendHello(wantsReply: boolean): void {
    const header = {
      kind: FrameKind.hello,
      wantsReply,
      generation: this.generation,
      step: 0,
      sender: this.rank,
      chunkIndex: 0,
      chunkCount: 0,
      totalLength: 0,
      elementOffset: 0,
      elementCount: 0,
    };
    this.bus.publish(this.subject, encodeFrame(header, new Float32Array(0)));
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

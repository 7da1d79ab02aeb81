// In-memory MessageBus for unit tests: one shared server fans each message out to the exact-subject
// subscribers that existed when it was published (no replay, like core NATS), delivers asynchronously,
// and on request reorders, duplicates or drops messages, or has an outage (everything published is
// lost until every connection "reconnects"). After each delivery it scribbles over the delivered
// bytes, like a transport reusing its read buffer, so code that keeps views instead of copies fails.
import type { MessageBus, Subscription } from '../../src/allreduce/bus.js';

export interface MemoryServerOptions {
  /** Default 1 MiB, like nats-server. */
  maxPayload?: number;
  /** Deliver each batch shuffled and hold some messages back for a later batch. */
  reorder?: boolean;
  /** Probability that a delivery happens twice. */
  duplicateRate?: number;
  /** True drops the message for every subscriber. */
  drop?: (subject: string, data: Uint8Array) => boolean;
  /** Source of randomness in [0, 1); pass a seeded one so failures replay. */
  random?: () => number;
}

type Handler = (data: Uint8Array) => void;

interface Delivery {
  subject: string;
  handler: Handler;
  data: Uint8Array;
  /** The receiving connection. */
  connection: number;
}

const HOLD_BACK_RATE = 0.25;

export class MemoryServer {
  private readonly subscribers = new Map<string, Set<Handler>>();
  private readonly connectionOf = new Map<Handler, number>();
  private readonly queued: number[] = [];
  /** Per connection (in connect() order): the most bytes ever waiting to be delivered to it. */
  readonly peakQueuedBytes: number[] = [];
  private queue: Delivery[] = [];
  private scheduled: ReturnType<typeof setImmediate> | undefined;
  private readonly random: () => number;
  private readonly reconnectListeners = new Set<() => void>();
  private down = false;
  /** Messages lost to outages. */
  lost = 0;

  constructor(private readonly opts: MemoryServerOptions = {}) {
    this.random = opts.random ?? Math.random;
  }

  get maxPayload(): number {
    return this.opts.maxPayload ?? 1024 * 1024;
  }

  /** A client connection: its own bus on the shared server. */
  connect(): MessageBus {
    const connection = this.queued.length;
    this.queued.push(0);
    this.peakQueuedBytes.push(0);
    return {
      maxPayload: this.maxPayload,
      publish: (subject, data) => this.publish(subject, data),
      subscribe: (subject, onMessage) => this.subscribe(subject, onMessage, connection),
      flush: () => new Promise((resolve) => setImmediate(resolve)),
      onReconnect: (listener) => {
        const entry = () => listener();
        this.reconnectListeners.add(entry);
        return () => this.reconnectListeners.delete(entry);
      },
    };
  }

  /**
   * An outage: from now on everything published, and everything not yet delivered, is lost, until
   * `ms` later the server is back and every connection is told it reconnected.
   */
  outage(ms: number): Promise<void> {
    this.down = true;
    this.lost += this.queue.length;
    this.queue = [];
    return new Promise((resolve) =>
      setTimeout(() => {
        this.down = false;
        for (const listener of [...this.reconnectListeners]) listener();
        resolve();
      }, ms),
    );
  }

  subscriptionCount(subject?: string): number {
    if (subject !== undefined) return this.subscribers.get(subject)?.size ?? 0;
    let count = 0;
    for (const handlers of this.subscribers.values()) count += handlers.size;
    return count;
  }

  private publish(subject: string, data: Uint8Array): void {
    if (data.length > this.maxPayload) {
      throw new Error(`MAX_PAYLOAD_EXCEEDED: ${data.length} > ${this.maxPayload} bytes on ${subject}`);
    }
    if (this.down) {
      this.lost++;
      return;
    }
    if (this.opts.drop?.(subject, data) === true) return;
    const copy = data.slice();
    for (const handler of this.subscribers.get(subject) ?? []) {
      const connection = this.connectionOf.get(handler)!;
      const times = this.random() < (this.opts.duplicateRate ?? 0) ? 2 : 1;
      for (let i = 0; i < times; i++) this.queue.push({ subject, handler, data: copy, connection });
      this.queued[connection]! += times * copy.length;
      this.peakQueuedBytes[connection] = Math.max(this.peakQueuedBytes[connection]!, this.queued[connection]!);
    }
    this.schedule();
  }

  private subscribe(subject: string, handler: Handler, connection: number): Subscription {
    // Wrapped so that one handler subscribed twice counts (and unsubscribes) twice, like separate NATS subscriptions.
    const entry: Handler = (data) => handler(data);
    this.connectionOf.set(entry, connection);
    let handlers = this.subscribers.get(subject);
    if (handlers === undefined) this.subscribers.set(subject, (handlers = new Set()));
    handlers.add(entry);
    return {
      unsubscribe: () => {
        handlers.delete(entry);
        if (handlers.size === 0 && this.subscribers.get(subject) === handlers) this.subscribers.delete(subject);
      },
    };
  }

  private schedule(): void {
    this.scheduled ??= setImmediate(() => this.deliverBatch());
  }

  private deliverBatch(): void {
    this.scheduled = undefined;
    let batch = this.queue;
    this.queue = [];
    if (this.opts.reorder === true) {
      shuffle(batch, this.random);
      const now: Delivery[] = [];
      for (const delivery of batch) (this.random() < HOLD_BACK_RATE ? this.queue : now).push(delivery);
      batch = now;
    }
    for (const delivery of batch) {
      this.queued[delivery.connection]! -= delivery.data.length;
      if (!this.subscribers.get(delivery.subject)?.has(delivery.handler)) continue;
      // Like nats.js: a Node Buffer, unaligned, inside a larger buffer that is overwritten afterwards.
      // Receivers must copy what they keep, and not with Buffer#slice (which makes a view).
      const scratch = Buffer.alloc(delivery.data.length + 2);
      scratch.set(delivery.data, 1);
      delivery.handler(scratch.subarray(1, 1 + delivery.data.length));
      scratch.fill(0xff);
    }
    if (this.queue.length > 0) this.schedule();
  }
}

/** Counts published and received messages and bytes, and remembers the largest, to check chunking and traffic. */
export class RecordingBus implements MessageBus {
  count = 0;
  largest = 0;
  publishedBytes = 0;
  receivedBytes = 0;

  constructor(private readonly inner: MessageBus) {}

  get maxPayload(): number {
    return this.inner.maxPayload;
  }

  publish(subject: string, data: Uint8Array): void {
    this.count++;
    this.publishedBytes += data.length;
    this.largest = Math.max(this.largest, data.length);
    this.inner.publish(subject, data);
  }

  subscribe(subject: string, onMessage: (data: Uint8Array) => void): Subscription {
    return this.inner.subscribe(subject, (data) => {
      this.receivedBytes += data.length;
      onMessage(data);
    });
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  onReconnect(listener: () => void): () => void {
    return this.inner.onReconnect?.(listener) ?? (() => undefined);
  }
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

// Augments batches off the training thread: requests go to augment-thread.ts, the arrays travel
// both ways by transfer. The result is the same as augmentBatch() on the calling thread (the
// draws depend on the sample, never on the thread), which `inline` mode does, for tests.
import type { Worker } from 'node:worker_threads';
import type { Augmentation } from '@syncline/proto';
import { startThread } from '../threads/start-thread.js';
import { augmentBatch } from './augment.js';
import type { ImageShape } from './transforms.js';

export interface AugmentThreadConfig {
  spec: Augmentation;
  shape: ImageShape;
  seed: number;
}
export interface AugmentRequest {
  id: number;
  x: Float32Array;
  samples: Uint32Array;
  epoch: number;
}
export type AugmentResponse = { id: number; x: Float32Array; error?: undefined } | { id: number; x?: undefined; error: string };

export class Augmenter {
  private thread: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (x: Float32Array) => void; reject: (err: Error) => void }>();

  constructor(
    private readonly config: AugmentThreadConfig,
    opts: { inline?: boolean } = {},
  ) {
    if (opts.inline) return;
    this.thread = startThread(new URL(`./augment-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), config);
    this.thread.unref();
    this.thread.on('message', (res: AugmentResponse) => {
      const waiter = this.pending.get(res.id);
      this.pending.delete(res.id);
      if (res.x) waiter?.resolve(res.x);
      else waiter?.reject(new Error(`augmentation failed: ${res.error}`));
    });
    const fail = (err: Error) => {
      for (const w of this.pending.values()) w.reject(err);
      this.pending.clear();
      this.thread = undefined;
    };
    this.thread.on('error', (err) => fail(new Error(`the augmentation thread failed: ${err.message}`, { cause: err })));
    this.thread.on('exit', (code) => fail(new Error(`the augmentation thread exited (code ${code})`)));
  }

  /** Augments `x` (given away: do not use it after the call) as rows of training samples `samples` of `epoch`. */
  augment(x: Float32Array, samples: ArrayLike<number>, epoch: number): Promise<Float32Array> {
    const rows = Uint32Array.from(samples);
    if (!this.thread) {
      try {
        augmentBatch(x, rows, this.config.spec, this.config.shape, this.config.seed, epoch);
        return Promise.resolve(x);
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const req: AugmentRequest = { id, x, samples: rows, epoch };
      this.thread!.postMessage(req, [x.buffer as ArrayBuffer, rows.buffer]);
    });
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    await thread?.terminate();
  }
}

// The main thread's side of the Join stream, which lives in join-thread.ts: requests go to the
// thread as messages, responses and the end of the stream come back as callbacks.
import type { Worker } from 'node:worker_threads';
import type { JoinRequest, JoinResponse, WorkerHello } from '@syncline/proto';
import { startThread } from '../threads/start-thread.js';

export interface LinkConfig {
  /** host:port of the coordinator's gRPC endpoint. */
  coordinator: string;
  /** The worker credential, sent with the Join call. */
  token: string;
  /** PEM of the CA that signed the coordinator's certificate: TLS, trusting it. */
  ca?: string;
  hello: WorkerHello;
}

export type ToLink = { type: 'send'; request: JoinRequest } | { type: 'close'; reason: string };
export type FromLink = { type: 'response'; response: JoinResponse } | { type: 'closed'; reason: string };

export interface LinkHandlers {
  onResponse(response: JoinResponse): void;
  /** Once, when the stream ends for any reason. */
  onClosed(reason: string): void;
}

export class CoordinatorLink {
  private readonly thread: Worker;
  private closed = false;
  private readonly exited: Promise<void>;

  constructor(config: LinkConfig, handlers: LinkHandlers) {
    this.thread = startThread(new URL('./join-thread.ts', import.meta.url), config);
    const closed = (reason: string) => {
      if (this.closed) return;
      this.closed = true;
      handlers.onClosed(reason);
    };
    this.thread.on('message', (message: FromLink) => {
      if (message.type === 'response') handlers.onResponse(message.response);
      else closed(message.reason);
    });
    this.thread.on('error', (err) => closed(`connection thread failed: ${err.message}`));
    this.exited = new Promise((resolve) => this.thread.once('exit', () => resolve()));
    void this.exited.then(() => closed('connection thread exited'));
  }

  send(request: JoinRequest): void {
    if (!this.closed) this.thread.postMessage({ type: 'send', request } satisfies ToLink);
  }

  /** Ends the stream (gracefully, so the coordinator sees it close at once) and the thread. */
  async close(reason: string): Promise<void> {
    if (!this.closed) this.thread.postMessage({ type: 'close', reason } satisfies ToLink);
    const timer = setTimeout(() => void this.thread.terminate(), 2_000);
    await this.exited;
    clearTimeout(timer);
  }
}

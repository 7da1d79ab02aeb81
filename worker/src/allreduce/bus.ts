// The transport the collective runs over: real NATS in production, an in-memory fake in unit tests.

export interface Subscription {
  unsubscribe(): void;
}

export interface MessageBus {
  /** Largest message payload in bytes the transport accepts (NATS: server info max_payload). */
  readonly maxPayload: number;
  publish(subject: string, data: Uint8Array): void;
  /** `data` may be a view into a buffer the transport reuses: copy what you keep. */
  subscribe(subject: string, onMessage: (data: Uint8Array) => void): Subscription;
  /** Resolves when everything published so far (and subscriptions) reached the server. */
  flush(): Promise<void>;
  /**
   * Calls `listener` each time the transport reconnects after an outage (what was in flight may
   * be lost); returns the function that stops it. Transports that never reconnect omit it.
   */
  onReconnect?(listener: () => void): () => void;
}

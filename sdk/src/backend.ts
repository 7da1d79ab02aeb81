// Picks the tfjs backend models run on: the first candidate that initialises here, wasm before
// cpu. tfjs keeps one current backend per process, so this sets it for every model loaded.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export const BACKENDS = ['wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

// One initialisation attempt per backend: a failed wasm start logs a warning and cannot be
// retried after its module aborted, so later loads go straight to the next candidate.
const attempts = new Map<BackendName, Promise<boolean>>();

function initialise(name: BackendName): Promise<boolean> {
  let attempt = attempts.get(name);
  if (attempt === undefined) {
    attempt = tf.setBackend(name);
    attempts.set(name, attempt);
  }
  return attempt;
}

/**
 * Makes `preferred` (default wasm) the current backend, or the next candidate that initialises
 * when it cannot; resolves to the one chosen.
 */
export async function selectBackend(preferred: BackendName = 'wasm'): Promise<BackendName> {
  const order = [preferred, ...BACKENDS.filter((b) => b !== preferred)];
  for (const name of order) {
    // setBackend is cheap once a backend is initialised; calling it again makes it current.
    if ((await initialise(name)) && (await tf.setBackend(name))) return name;
  }
  throw new Error(`no tfjs backend could be initialised (tried ${order.join(', ')})`);
}

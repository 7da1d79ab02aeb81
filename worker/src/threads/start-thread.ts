// Starting a worker thread from a module URL, whether the worker runs compiled JavaScript or
// TypeScript through tsx (tests, `npm run demo`): a TypeScript module registers tsx in the thread first.
import { Worker } from 'node:worker_threads';

export function startThread(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const load = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(load, { eval: true, workerData });
}

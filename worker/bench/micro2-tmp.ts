import type { MessageBus, Subscription } from '../src/allreduce/bus.js';
import { Collective } from '../src/allreduce/collective.js';
import type { AlgorithmName, Compression } from '../src/allreduce/round.js';
// A bus with no cost: delivers the same bytes (no copy) on a later macrotask.
function server() {
  const subs = new Map<string, Set<(d: Uint8Array) => void>>();
  const queue: [string, Uint8Array][] = [];
  let scheduled = false;
  const bus = (): MessageBus => ({
    maxPayload: 8 << 20,
    publish(subject, data) { queue.push([subject, data]); if (!scheduled) { scheduled = true; setImmediate(drain); } },
    subscribe(subject, cb): Subscription { let s = subs.get(subject); if (!s) subs.set(subject, (s = new Set())); s.add(cb); return { unsubscribe: () => s!.delete(cb) }; },
    flush: () => new Promise((r) => setImmediate(r)),
  });
  function drain() { scheduled = false; const batch = queue.splice(0); for (const [subject, data] of batch) for (const cb of subs.get(subject) ?? []) cb(data); }
  return bus;
}
const [algorithm, compression, mb, n] = process.argv.slice(2) as [AlgorithmName, Compression, string, string];
const N = Number(n); const len = Number(mb) * 262144;
const connect = server();
const ranks = Array.from({ length: N }, (_, rank) => new Collective({ bus: connect(), jobId: 'm', generation: 0, rank, worldSize: N, timeoutMs: 60000, algorithm, compression, maxChunkBytes: 1 << 20 }));
await Promise.all(ranks.map((r) => r.start()));
const data = Array.from({ length: N }, (_, r) => new Float32Array(len).map((_, i) => Math.sin(i + r)));
for (let step = 0; step < 3; step++) await Promise.all(ranks.map((c, r) => c.allReduceSum(data[r]!, step)));
const cpu = process.cpuUsage(); const t = performance.now();
const reps = 10;
for (let step = 3; step < 3 + reps; step++) await Promise.all(ranks.map((c, r) => c.allReduceSum(data[r]!, step)));
const u = process.cpuUsage(cpu);
console.log(`${algorithm}/${compression} ${mb}MB N=${N}: ${((performance.now() - t) / reps).toFixed(1)} ms wall, ${((u.user + u.system) / 1000 / reps / N).toFixed(1)} ms CPU per rank per step`);
for (const r of ranks) r.close();

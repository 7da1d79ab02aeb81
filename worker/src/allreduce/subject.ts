// NATS subjects of one job's collective traffic for one generation: a shared subject for hellos, and per
// rank an inbox (what only that rank needs) and a fan-out subject (what every other rank needs), so a
// rank receives only its own traffic and never the server's echo of what it published.
import { jobAllReducePrefix } from '@syncline/proto';

export { jobToken } from '@syncline/proto';

/** Hellos of the start barrier. */
export function allReduceSubject(jobId: string, generation: number): string {
  return `${jobAllReducePrefix(jobId)}.${generation}`;
}

/** Frames meant for `rank` alone (a shard's contributions, the ring's partial sums). */
export function inboxSubject(jobId: string, generation: number, rank: number): string {
  return `${allReduceSubject(jobId, generation)}.to.${rank}`;
}

/** Frames `rank` publishes once for every other rank (its buffer, its reduced shard, a broadcast). */
export function fanOutSubject(jobId: string, generation: number, rank: number): string {
  return `${allReduceSubject(jobId, generation)}.from.${rank}`;
}

// NATS subjects of one job's collective traffic for one generation: a shared subject for hellos, and per
// rank an inbox (what only that rank needs) and a fan-out subject (what every other rank needs), so a
// rank receives only its own traffic and never the server's echo of what it published.

/**
 * Escapes the job id into a single subject token. The escape is injective (the escape character is
 * itself escaped), so two different job ids never share a subject: frames do not carry the job id.
 */
export function jobToken(jobId: string): string {
  if (jobId.length === 0) throw new RangeError('jobId must not be empty');
  let token = '';
  for (const byte of new TextEncoder().encode(jobId)) {
    const char = String.fromCharCode(byte);
    token += /[A-Za-z0-9_-]/.test(char) ? char : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return token;
}

/** Hellos of the start barrier. */
export function allReduceSubject(jobId: string, generation: number): string {
  return `syncline.allreduce.${jobToken(jobId)}.${generation}`;
}

/** Frames meant for `rank` alone (a shard's contributions, the ring's partial sums). */
export function inboxSubject(jobId: string, generation: number, rank: number): string {
  return `${allReduceSubject(jobId, generation)}.to.${rank}`;
}

/** Frames `rank` publishes once for every other rank (its buffer, its reduced shard, a broadcast). */
export function fanOutSubject(jobId: string, generation: number, rank: number): string {
  return `${allReduceSubject(jobId, generation)}.from.${rank}`;
}

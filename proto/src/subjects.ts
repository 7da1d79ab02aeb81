// NATS subjects of a job's collective traffic: workers publish and subscribe them
// (worker/src/allreduce/subject.ts), the coordinator permissions them per job
// (coordinator/src/nats-auth), so the job's part of the name is defined once, here.

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

/** Every subject of one job's collective traffic starts with this (then `.<generation>`). */
export function jobAllReducePrefix(jobId: string): string {
  return `syncline.allreduce.${jobToken(jobId)}`;
}

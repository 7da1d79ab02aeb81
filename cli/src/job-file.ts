// Reads a job file: the proto3 JSON form of JobSpec.
import { readFile } from 'node:fs/promises';
import { JobSpec, jsonProblems } from '@syncline/proto';

export class JobFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobFileError';
  }
}

export async function readJobFile(path: string): Promise<JobSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new JobFileError(`cannot read job file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new JobFileError(`job file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new JobFileError(`job file ${path} must hold one JSON object (a JobSpec)`);
  const problems = jsonProblems('syncline.v1.JobSpec', json);
  if (problems.length) throw new JobFileError(`job file ${path}:\n  ${problems.join('\n  ')}`);
  return JobSpec.fromJSON(json);
}

// Reads a job file: the proto3 JSON form of JobSpec, written as JSON or (.yaml/.yml) YAML. Every
// problem names the field's path and where it is in the file; nothing malformed reaches ts-proto.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { BUILTIN_DATASETS, JobSpec, closestName, formatJsonPath, jsonProblems, parseJsonPath } from '@syncline/proto';
import { InvalidSpecError, UNKNOWN_BASE, validateJobSpec } from '@syncline/coordinator/spec';
import { JobFileError, type JobFileProblem } from './errors.js';
import { parseSource, type JobFileFormat, type Position } from './job-source.js';

export { JobFileError } from './errors.js';

export interface JobFile {
  path: string;
  format: JobFileFormat;
  spec: JobSpec;
  /** Where the field at `field` (`model.layers[0].dense.units`) is, or the nearest enclosing one. */
  locate(field: string): Position;
}

export function jobFileFormat(path: string): JobFileFormat {
  return ['.yaml', '.yml'].includes(extname(path).toLowerCase()) ? 'yaml' : 'json';
}

/** Reads and checks a job file's syntax and fields; throws JobFileError listing every problem. */
export async function loadJobFile(path: string): Promise<JobFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new JobFileError(path, [{ message: `cannot read the file: ${(err as Error).message}` }], { cause: err });
  }
  const format = jobFileFormat(path);
  // Editors on Windows may start a UTF-8 file with a byte-order mark; it is not part of the job.
  const parsed = parseSource(text.replace(/^\uFEFF/, ''), format);
  if ('syntax' in parsed) {
    const { line, column, message } = parsed.syntax;
    throw new JobFileError(path, [{ line, column, message: `${format === 'yaml' ? 'YAML' : 'JSON'} syntax: ${message}` }]);
  }
  const problems = [...parsed.problems, ...jsonProblems('syncline.v1.JobSpec', parsed.value).map((p) => ({ ...p, position: parsed.locate(p.path, p.atKey) }))];
  if (problems.length) {
    throw new JobFileError(
      path,
      problems.map((p) => ({ field: formatJsonPath(p.path), ...p.position, message: p.message })),
    );
  }
  return { path, format, spec: JobSpec.fromJSON(parsed.value), locate: (field) => parsed.locate(parseJsonPath(field)) };
}

/** The job spec of a valid job file (for the demo, the results runner and tests). */
export async function readJobFile(path: string): Promise<JobSpec> {
  return (await loadJobFile(path)).spec;
}

/** A field the coordinator's checks refused (`field: message`), as a problem placed in the file. */
export function rejectedField(file: JobFile, field: string, message: string): JobFileError {
  const bare = message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
  const problem: JobFileProblem = { field, ...file.locate(field), message: bare };
  return new JobFileError(file.path, [problem]);
}

/**
 * Runs the coordinator's own checks here, without a coordinator: everything for jobs on built-in
 * datasets; for an uploaded dataset, the shapes need the coordinator and are left to it.
 * Returns what was left unchecked, if anything; throws JobFileError.
 */
export function checkOffline(file: JobFile): string | undefined {
  const dataset = file.spec.dataset?.name ?? '';
  if (dataset && !Object.hasOwn(BUILTIN_DATASETS, dataset)) {
    const builtin = closestName(dataset, Object.keys(BUILTIN_DATASETS));
    return `dataset ${JSON.stringify(dataset)} is not built in${builtin ? ` (did you mean ${builtin}?)` : ''}: the model's shapes against an uploaded dataset are checked by the coordinator`;
  }
  const base = file.spec.model?.base;
  try {
    validateJobSpec(file.spec, {}, UNKNOWN_BASE);
  } catch (err) {
    if (err instanceof InvalidSpecError) throw rejectedField(file, err.field, err.message);
    throw err;
  }
  return base ? `model.base ${JSON.stringify(base.name)}: the base model and the shapes of the layers on it are checked by the coordinator` : undefined;
}

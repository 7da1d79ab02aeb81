// `syncline validate <job-file…>`: checks job files without submitting them. Syntax and fields
// always here; the rest by the coordinator when one answers (shapes against uploaded datasets),
// otherwise here too, with the coordinator's own checks, for jobs on built-in datasets.
import { status } from '@grpc/grpc-js';
import { CoordinatorUnreachableError, EXIT, JobFileError, RequestRefusedError } from '../errors.js';
import { SynclineClient } from '../client.js';
import { checkOffline, loadJobFile, rejectedField, type JobFile } from '../job-file.js';

export interface ValidateOptions {
  coordinator?: string;
  config?: string;
  /** Do not ask a coordinator, even if one answers. */
  offline?: boolean;
}

/** A coordinator that does not answer this quickly is not waited for: the local checks suffice. */
const PROBE_MS = 2_000;

export async function validate(files: string[], opts: ValidateOptions): Promise<number> {
  const loaded: JobFile[] = [];
  let invalid = 0;
  const report = (err: unknown) => {
    if (!(err instanceof JobFileError)) throw err;
    invalid++;
    console.error(`syncline: ${err.message}`);
  };
  for (const file of files) {
    try {
      loaded.push(await loadJobFile(file));
    } catch (err) {
      report(err);
    }
  }
  if (loaded.length === 0) return invalid ? EXIT.invalidJobFile : EXIT.ok;

  const client = opts.offline ? undefined : await SynclineClient.open(opts);
  try {
    let remote = false;
    if (client) {
      try {
        await client.ready({ timeoutMs: PROBE_MS });
        remote = true;
      } catch (err) {
        if (!(err instanceof CoordinatorUnreachableError)) throw err;
        console.error(`syncline: cannot reach the coordinator at ${err.address} (${err.reason}); checking without it`);
      }
    }
    for (const file of loaded) {
      try {
        if (remote) {
          const { totalSteps } = await client!.validate(file.spec);
          console.log(`${file.path}: valid, ${totalSteps} steps (checked by the coordinator at ${client!.address})`);
        } else {
          const unchecked = checkOffline(file);
          console.log(`${file.path}: valid (checked locally${unchecked ? `; ${unchecked}` : ''})`);
        }
      } catch (err) {
        report(err instanceof RequestRefusedError ? specRefusal(file, err) : err);
      }
    }
  } finally {
    client?.close();
  }
  return invalid ? EXIT.invalidJobFile : EXIT.ok;
}

/** A refusal of the spec itself becomes a problem of the job file; other refusals stay what they are. */
export function specRefusal(file: JobFile, err: RequestRefusedError): Error {
  if (err.field) return rejectedField(file, err.field, err.details);
  if (err.code === status.INVALID_ARGUMENT) return new JobFileError(file.path, [{ message: err.details }], { cause: err });
  return err;
}

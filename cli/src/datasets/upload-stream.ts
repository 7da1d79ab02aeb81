// Streams a dataset file to the coordinator, resuming after a broken connection: the upload
// carries an id, the coordinator stores shards as they fill and records how many bytes of the
// file they hold, and a retry asks for that byte and sends the file from there. The file is
// read as it is sent (a source can start at any resume point), never held whole.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { status, type ClientWritableStream, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { DatasetUploadHeader, type GetDatasetUploadResponse, type JobServiceClient, type UploadDatasetRequest, type UploadDatasetResponse, type UserDataset } from '@syncline/proto';

/** A file to upload: its size when known, and its bytes from any byte where an upload can resume. */
export interface UploadSource {
  size?: number;
  read(from: number): AsyncIterable<Uint8Array>;
}

export interface UploadOptions {
  /** Attempts after a broken connection (default 5). */
  resumeAttempts?: number;
  /** Called when an attempt broke off and the upload resumes from `offset`. */
  onResume?: (offset: number, progress: GetDatasetUploadResponse) => void;
  /** Called after each chunk handed to the connection, with the bytes of the file sent. */
  onSent?: (bytes: number) => void;
  deadlineMs: number;
}

const CHUNK = 1 << 20;

export function bytesSource(bytes: Uint8Array): UploadSource {
  return {
    size: bytes.length,
    async *read(from) {
      for (let at = from; at < bytes.length; at += CHUNK) yield bytes.subarray(at, Math.min(bytes.length, at + CHUNK));
    },
  };
}

/** The source failed (a file that cannot be read or decoded): the upload was abandoned. */
export class UploadSourceError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'UploadSourceError';
  }
}

/** Errors after which the same upload can be resumed: the connection, not the request, failed. */
function broken(err: unknown): boolean {
  const code = (err as Partial<ServiceError>).code;
  // DEADLINE_EXCEEDED too: a long upload goes on from its last shard after each call's deadline.
  return code === status.UNAVAILABLE || code === status.CANCELLED || code === status.INTERNAL || code === status.UNKNOWN || code === status.DEADLINE_EXCEEDED;
}

export async function streamUpload(
  raw: JobServiceClient,
  metadata: () => Metadata,
  headerIn: Partial<DatasetUploadHeader> & Pick<DatasetUploadHeader, 'name' | 'format'>,
  source: UploadSource,
  opts: UploadOptions,
): Promise<UserDataset> {
  const header = DatasetUploadHeader.fromPartial({ ...headerIn, uploadId: headerIn.uploadId || `u${randomUUID().replaceAll('-', '')}`, totalBytes: source.size ?? 0 });
  const attempts = opts.resumeAttempts ?? 5;
  let offset = header.resumeOffset;
  for (let attempt = 0; ; attempt++) {
    try {
      return await sendFrom(raw, metadata(), { ...header, resumeOffset: offset }, source, opts);
    } catch (err) {
      // A resume that raced the end of the broken stream may name a stale byte: ask again.
      const stale = offset > 0 && (err as Partial<ServiceError>).code === status.FAILED_PRECONDITION;
      if (err instanceof UploadSourceError || !(broken(err) || stale) || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      const progress = await new Promise<GetDatasetUploadResponse>((resolve, reject) =>
        raw.getDatasetUpload({ uploadId: header.uploadId }, metadata(), { deadline: Date.now() + 30_000 }, (e, res) => (e ? reject(e) : resolve(res))),
      ).catch((e: unknown) => {
        if (broken(e) && attempt + 1 < attempts) return undefined;
        throw e;
      });
      if (!progress) continue;
      offset = progress.committedBytes;
      opts.onResume?.(offset, progress);
    }
  }
}

async function sendFrom(raw: JobServiceClient, metadata: Metadata, header: DatasetUploadHeader, source: UploadSource, opts: UploadOptions): Promise<UserDataset> {
  let call!: ClientWritableStream<UploadDatasetRequest>;
  const answer = new Promise<UploadDatasetResponse>((resolve, reject) => {
    call = raw.uploadDataset(metadata, { deadline: Date.now() + opts.deadlineMs }, (err, res) => (err ? reject(err) : resolve(res!)));
  });
  let settled = false;
  const done = answer.finally(() => (settled = true));
  // The answer may come early (a refusal): stop sending then.
  done.catch(() => undefined);
  const write = async (msg: UploadDatasetRequest) => {
    if (!call.write(msg)) await Promise.race([once(call, 'drain'), done.catch(() => undefined)]);
  };
  await write({ part: { $case: 'header', value: header } });
  let sent = header.resumeOffset;
  try {
    for await (const piece of source.read(header.resumeOffset)) {
      for (let at = 0; at < piece.length && !settled; at += CHUNK) {
        const chunk = piece.subarray(at, Math.min(piece.length, at + CHUNK));
        await write({ part: { $case: 'chunk', value: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) } });
        sent += chunk.length;
        opts.onSent?.(sent);
      }
      if (settled) break;
    }
  } catch (err) {
    if (!settled) {
      call.write({ part: { $case: 'abort', value: err instanceof Error ? err.message : String(err) } });
      call.end();
      await done.catch(() => undefined);
    }
    throw new UploadSourceError(err);
  }
  call.end();
  return (await done).dataset!;
}

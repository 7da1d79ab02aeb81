// Drives one UploadDataset stream: header first, then chunks, each awaited before the next is
// read, so a slow object store slows the client down (backpressure) rather than filling memory.
// A broken connection keeps a resumable upload's stored shards; anything else that ends the
// stream early discards what it stored.
import type { UploadDatasetRequest, UserDataset } from '@syncline/proto';
import { InvalidRequestError, UploadAbortedError } from '../errors.js';
import type { ActiveUpload, DatasetStore } from './dataset-store.js';

export class UploadDisconnectedError extends Error {
  constructor() {
    super('the upload stream broke off; resume it from the byte GetDatasetUpload names');
    this.name = 'UploadDisconnectedError';
  }
}

export async function receiveUpload(store: DatasetStore, messages: AsyncIterable<UploadDatasetRequest>, cancelled: () => boolean, owner = ''): Promise<UserDataset> {
  let upload: ActiveUpload | undefined;
  let keep = false;
  try {
    for await (const req of messages) {
      if (cancelled()) break;
      const part = req.part;
      if (part?.$case === 'header') {
        if (upload) throw new InvalidRequestError('the header must come once, first');
        upload = await store.begin(part.value, owner);
      } else if (part?.$case === 'chunk') {
        if (!upload) throw new InvalidRequestError('the first UploadDataset message must be the header');
        await upload.write(part.value);
      } else if (part?.$case === 'abort') {
        throw new UploadAbortedError(part.value || 'no reason given');
      }
    }
    if (cancelled()) {
      keep = upload?.header.uploadId !== '';
      throw new UploadDisconnectedError();
    }
    if (!upload) throw new InvalidRequestError('the first UploadDataset message must be the header');
    return await upload.commit();
  } catch (err) {
    if (cancelled() && upload?.header.uploadId) keep = true;
    if (upload && !keep) await upload.discard();
    throw err;
  } finally {
    upload?.release();
  }
}

// Dataset files on disk as upload sources, read from any resume point as they are sent. A
// version-1 tensor file (every feature, then every target) is sent as version 2 (rows), read
// from its two regions at once, so the coordinator can store it as it streams.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { TENSOR_HEADER_BYTES, TENSOR_MAGIC, TENSOR_ROWS_VERSION, TENSOR_VERSION, encodeTensorHeader } from '@syncline/proto';
import type { UploadSource } from './upload-stream.js';

const BLOCK = 1 << 20;

export async function plainFileSource(path: string): Promise<UploadSource> {
  const { size } = await stat(path);
  return {
    size,
    read: (from) => createReadStream(path, { start: from, highWaterMark: BLOCK }),
  };
}

export async function tensorFileSource(path: string): Promise<UploadSource> {
  const file = await open(path);
  let head: Buffer;
  let size: number;
  try {
    size = (await file.stat()).size;
    head = Buffer.alloc(TENSOR_HEADER_BYTES);
    await file.read(head, 0, TENSOR_HEADER_BYTES, 0);
  } finally {
    await file.close();
  }
  // Anything but a well-formed version-1 header goes as it is: the coordinator names its problems.
  if (size < TENSOR_HEADER_BYTES || head.subarray(0, 4).toString('latin1') !== TENSOR_MAGIC || head.readUInt32LE(4) !== TENSOR_VERSION) return plainFileSource(path);
  const samples = head.readUInt32LE(8);
  const features = head.readUInt32LE(12);
  const targets = head.readUInt32LE(16);
  if (samples === 0 || features === 0 || targets === 0 || size !== TENSOR_HEADER_BYTES + 4 * samples * (features + targets)) return plainFileSource(path);
  const row = 4 * (features + targets);
  return {
    size,
    async *read(from) {
      if (from === 0) yield encodeTensorHeader(TENSOR_ROWS_VERSION, samples, features, targets);
      const first = from === 0 ? 0 : (from - TENSOR_HEADER_BYTES) / row;
      const per = Math.max(1, Math.floor(BLOCK / row));
      const f = await open(path);
      try {
        for (let i = first; i < samples; i += per) {
          const k = Math.min(per, samples - i);
          const xs = Buffer.alloc(4 * k * features);
          const ys = Buffer.alloc(4 * k * targets);
          await f.read(xs, 0, xs.length, TENSOR_HEADER_BYTES + 4 * i * features);
          await f.read(ys, 0, ys.length, TENSOR_HEADER_BYTES + 4 * samples * features + 4 * i * targets);
          const out = Buffer.alloc(k * row);
          for (let r = 0; r < k; r++) {
            xs.copy(out, r * row, 4 * r * features, 4 * (r + 1) * features);
            ys.copy(out, r * row + 4 * features, 4 * r * targets, 4 * (r + 1) * targets);
          }
          yield out;
        }
      } finally {
        await f.close();
      }
    },
  };
}

// `syncline upload <file|folder|archive>` and `syncline datasets`.
import { extname } from 'node:path';
import { stat } from 'node:fs/promises';
import type { UserDataset } from '@syncline/proto';
import { SynclineClient } from '../client.js';
import { isArchive, unpack } from '../datasets/archives.js';
import { plainFileSource, tensorFileSource } from '../datasets/file-sources.js';
import { ImageFolderError, openImageFolder } from '../datasets/image-folder.js';
import { UploadSourceError } from '../datasets/upload-stream.js';
import type { ConnectOptions } from '../config.js';
import { UsageError } from '../errors.js';

export interface UploadOptions {
  name: string;
  format?: string;
  classes?: string;
  labelColumn?: string;
  targetColumns?: string;
  inputShape?: string;
  heldout?: string;
  imageSize?: string;
  channels?: string;
  seed?: string;
  shardBytes?: string;
  coordinator?: string;
  config?: string;
}

const numbers = (text: string | undefined) => (text ? text.split(',').map((v) => Number(v.trim())) : []);

function describe(d: UserDataset): string {
  const classes = d.classes > 0 ? `${d.classes} classes${d.classNames.length ? ` (${d.classNames.join(', ')})` : ''}` : `${d.targetSize} targets`;
  return `${d.name}  input [${d.inputShape.join(', ')}]  ${classes}  train ${d.train}  held out ${d.heldout}  shards ${d.shards.length}  sha256 ${d.sha256}`;
}

function imageSize(text: string | undefined): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(text ?? '64x64');
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (!m || !(width >= 1 && width <= 4096 && height >= 1 && height <= 4096)) throw new UsageError(`--image-size: expected WIDTHxHEIGHT (1 to 4096 each), got ${JSON.stringify(text)}`);
  return { width, height };
}

export async function upload(path: string, opts: UploadOptions): Promise<void> {
  const info = await stat(path).catch((err: Error) => {
    throw new UsageError(`cannot read ${path}: ${err.message}`, { cause: err });
  });
  const common = {
    name: opts.name,
    heldoutFraction: Number(opts.heldout ?? 0),
    shardBytes: Number(opts.shardBytes ?? 0),
  };
  const client = await SynclineClient.open(opts);
  let cleanup: (() => Promise<void>) | undefined;
  try {
    let d: UserDataset;
    if (info.isDirectory() || isArchive(path)) {
      const { width, height } = imageSize(opts.imageSize);
      const channels = Number(opts.channels ?? 3);
      if (channels !== 1 && channels !== 3) throw new UsageError(`--channels: 1 (grey) or 3 (RGB), got ${JSON.stringify(opts.channels)}`);
      let root = path;
      if (!info.isDirectory()) {
        const unpacked = await unpack(path);
        root = unpacked.dir;
        cleanup = unpacked.remove;
      }
      const folder = await openImageFolder(root, { width, height, channels, seed: Number(opts.seed ?? 1), label: path });
      console.log(`${folder.files.length} images in ${folder.classNames.length} classes: ${folder.classNames.join(', ')}`);
      d = await client.uploadDataset({ ...common, format: 'tensor', classes: folder.classNames.length, classNames: folder.classNames, inputShape: folder.inputShape }, folder.source);
    } else {
      const format = opts.format ?? (extname(path).toLowerCase() === '.csv' ? 'csv' : 'tensor');
      const source = format === 'tensor' ? await tensorFileSource(path) : await plainFileSource(path);
      d = await client.uploadDataset(
        {
          ...common,
          format,
          inputShape: numbers(opts.inputShape),
          classes: Number(opts.classes ?? 0),
          labelColumn: opts.labelColumn ?? '',
          targetColumns: opts.targetColumns ? opts.targetColumns.split(',').map((c) => c.trim()) : [],
        },
        source,
        { onResume: (offset) => console.error(`connection lost; resuming the upload from byte ${offset}`) },
      );
    }
    console.log(describe(d));
  } catch (err) {
    if (err instanceof ImageFolderError) throw new UsageError(err.message, { cause: err });
    if (err instanceof UploadSourceError) throw new UsageError(`upload abandoned, nothing kept: ${err.message}`, { cause: err });
    throw err;
  } finally {
    client.close();
    await cleanup?.();
  }
}

export async function datasets(opts: ConnectOptions): Promise<void> {
  const client = await SynclineClient.open(opts);
  try {
    for (const d of await client.datasets()) console.log(describe(d));
  } finally {
    client.close();
  }
}

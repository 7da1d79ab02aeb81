// `syncline upload <file>` and `syncline datasets`.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { SynclineClient } from '../client.js';
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
  coordinator?: string;
  config?: string;
}

const numbers = (text: string | undefined) => (text ? text.split(',').map((v) => Number(v.trim())) : []);

export async function upload(file: string, opts: UploadOptions): Promise<void> {
  const bytes = await readFile(file).catch((err: Error) => {
    throw new UsageError(`cannot read ${file}: ${err.message}`, { cause: err });
  });
  const format = opts.format ?? (extname(file).toLowerCase() === '.csv' ? 'csv' : 'tensor');
  const client = await SynclineClient.open(opts);
  try {
    const d = await client.uploadDataset(
      {
        name: opts.name,
        format,
        inputShape: numbers(opts.inputShape),
        classes: Number(opts.classes ?? 0),
        labelColumn: opts.labelColumn ?? '',
        targetColumns: opts.targetColumns ? opts.targetColumns.split(',').map((c) => c.trim()) : [],
        heldoutFraction: Number(opts.heldout ?? 0),
      },
      bytes,
    );
    console.log(`${d.name}  input [${d.inputShape.join(', ')}]  ${d.classes > 0 ? `${d.classes} classes` : `${d.targetSize} targets`}  train ${d.train}  held out ${d.heldout}  sha256 ${d.sha256}`);
  } finally {
    client.close();
  }
}

export async function datasets(opts: ConnectOptions): Promise<void> {
  const client = await SynclineClient.open(opts);
  try {
    for (const d of await client.datasets()) {
      console.log(`${d.name}  input [${d.inputShape.join(', ')}]  ${d.classes > 0 ? `${d.classes} classes` : `${d.targetSize} targets`}  train ${d.train}  held out ${d.heldout}`);
    }
  } finally {
    client.close();
  }
}

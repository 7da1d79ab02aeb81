// `syncline models`: the latest version of every published model, with its model.json URL;
// `syncline upload-model`: a model made elsewhere into the registry.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SynclineClient } from '../client.js';
import type { ConnectOptions } from '../config.js';
import { UsageError } from '../errors.js';

export async function models(opts: ConnectOptions): Promise<void> {
  const client = await SynclineClient.open(opts);
  try {
    for (const m of await client.models()) {
      const acc = m.metrics ? `  accuracy=${m.metrics.accuracy.toFixed(4)}` : '';
      console.log(`${m.ref!.name}  v${m.ref!.version}  ${m.ref!.url}${acc}`);
    }
  } finally {
    client.close();
  }
}

/** `syncline upload-model <dir> --name N`: model.json and the weight files its manifest names, from `dir`. */
export async function uploadModel(dir: string, opts: { name: string } & ConnectOptions): Promise<void> {
  const read = (file: string) =>
    readFile(join(dir, file)).catch((err: Error) => {
      throw new UsageError(`cannot read ${join(dir, file)}: ${err.message}`, { cause: err });
    });
  const modelJson = await read('model.json');
  let manifest: { paths?: unknown }[];
  try {
    manifest = ((JSON.parse(modelJson.toString('utf8')) as { weightsManifest?: { paths?: unknown }[] }).weightsManifest ?? []);
  } catch (err) {
    throw new UsageError(`${join(dir, 'model.json')} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const files = new Map<string, Uint8Array>([['model.json', modelJson]]);
  for (const group of manifest) for (const path of Array.isArray(group.paths) ? group.paths : []) if (typeof path === 'string') files.set(path, await read(path));
  const client = await SynclineClient.open(opts);
  try {
    const res = await client.uploadModel(opts.name, files);
    console.log(`${res.name}  v${res.version}  ${res.url}`);
  } finally {
    client.close();
  }
}

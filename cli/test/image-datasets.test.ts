// Image folders end to end: a folder of PNG, JPEG and WebP files (one sub-folder per class),
// and the same folder as .zip and .tar, uploaded as `syncline upload` does; a job trains on
// it and the SDK's predictTopK names the classes. A file that is not an image, an unreadable
// image and an empty class are refused naming the file, and nothing is kept.
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import anyTest, { type TestFn } from 'ava';
import { BUCKETS, datasetBucket, JobSpec, JobState, seededRandom } from '@syncline/proto';
import { loadModel } from '@syncline/sdk';
import sharp from 'sharp';
import * as tar from 'tar';
import yazl from 'yazl';
import { SynclineClient } from '../src/client.js';
import { upload } from '../src/commands/datasets.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';

const test = anyTest as TestFn<{ cluster: LocalCluster; client: SynclineClient; dir: string; photos: string }>;
const CLASSES = ['dark', 'light', 'stripes'];
const PER_CLASS = 40;
const FORMATS = ['png', 'jpeg', 'webp'] as const;

/** A 16x16 grey picture of its class, with noise: dark, light, or vertical stripes. */
function picture(cls: number, random: () => number): Buffer {
  const pixels = Buffer.alloc(16 * 16);
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      const base = cls === 0 ? 50 : cls === 1 ? 200 : x % 4 < 2 ? 30 : 220;
      pixels[y * 16 + x] = Math.max(0, Math.min(255, Math.round(base + (random() - 0.5) * 60)));
    }
  }
  return pixels;
}

test.before(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'syncline-images-'));
  t.context.photos = join(t.context.dir, 'photos');
  const random = seededRandom(21);
  for (const [label, cls] of CLASSES.entries()) {
    await mkdir(join(t.context.photos, cls), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) {
      const format = FORMATS[i % FORMATS.length]!;
      const image = sharp(picture(label, random), { raw: { width: 16, height: 16, channels: 1 } });
      const encoded = format === 'png' ? image.png() : format === 'jpeg' ? image.jpeg({ quality: 95 }) : image.webp({ lossless: true });
      await encoded.toFile(join(t.context.photos, cls, `${i}.${format === 'jpeg' ? 'jpg' : format}`));
    }
  }
  t.context.cluster = await startLocalCluster({ workers: 2 });
  t.context.client = new SynclineClient(t.context.cluster.coordinator.grpcAddress, { token: t.context.cluster.secrets.adminToken });
  // The upload command below finds its credential as a user's shell gives it (this file runs in a process of its own).
  process.env.SYNCLINE_TOKEN = t.context.cluster.secrets.adminToken;
});
test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.cluster?.stop();
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
});

const options = (t: { context: { cluster: LocalCluster } }, name: string) => ({ name, imageSize: '8x8', channels: '1', coordinator: t.context.cluster.coordinator.grpcAddress });

/** Objects of the dataset store `prefix` (`datasets/<name>/`) names. */
async function storedObjects(cluster: LocalCluster, prefix: string): Promise<string[]> {
  const store = await cluster.coordinator.nc.jetstream().views.os(datasetBucket(prefix.split('/')[1]!));
  return (await store.list()).map((o) => o.name).filter((n) => n.startsWith(prefix));
}

test.serial('an image folder uploads with its class names, trains, and predictTopK names the classes', async (t) => {
  const { client, cluster, photos } = t.context;
  await upload(photos, options(t, 'shades'));
  const [d] = await client.datasets();
  t.like(d, { name: 'shades', inputShape: [8, 8, 1], classes: 3, classNames: CLASSES, train: 96, heldout: 24 });

  const job = await client.submit(
    JobSpec.fromJSON({
      name: 'shades-mlp',
      model: { layers: [{ flatten: {} }, { dense: { units: 16, activation: 'relu' } }, { dense: { units: 3, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { adam: { learningRate: 0.01 } } },
      dataset: { name: 'shades' },
      training: { epochs: 15, globalBatchSize: 16, seed: 5 },
      workers: { min: 2, max: 2 },
    }),
  );
  const final = await client.watch(job.id);
  t.is(final.state, JobState.JOB_STATE_SUCCEEDED, final.error);
  t.true(final.result!.accuracy > 0.9, `held-out accuracy ${final.result!.accuracy}`);

  const model = await loadModel({ baseUrl: cluster.coordinator.httpUrl, name: 'shades-mlp', version: 'latest' }, { cache: false });
  try {
    t.deepEqual(model.classNames, CLASSES);
    // A stripes picture as the upload decoded it: resized to 8x8, values in [0, 1].
    const stripes = await sharp(picture(2, seededRandom(99)), { raw: { width: 16, height: 16, channels: 1 } }).resize(8, 8, { fit: 'fill' }).toColourspace('b-w').raw().toBuffer();
    t.is(stripes.length, 64);
    const [top] = model.predictTopK(Float32Array.from(stripes, (v) => v / 255), 3);
    t.is(top![0]!.label, 'stripes');
    t.deepEqual(top!.map((s) => s.label).sort(), [...CLASSES].sort());
  } finally {
    model.dispose();
  }
});

test.serial('the same folder as a .zip and as a .tar uploads the same samples', async (t) => {
  const { client, dir, photos } = t.context;
  const zipPath = join(dir, 'photos.zip');
  const zip = new yazl.ZipFile();
  for (const [, cls] of CLASSES.entries()) {
    for (let i = 0; i < PER_CLASS; i++) {
      const file = `${i}.${FORMATS[i % FORMATS.length] === 'jpeg' ? 'jpg' : FORMATS[i % FORMATS.length]}`;
      zip.addFile(join(photos, cls, file), `photos/${cls}/${file}`);
    }
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(zipPath));
  const tarPath = join(dir, 'photos.tar');
  await tar.c({ file: tarPath, cwd: photos }, CLASSES);

  await upload(zipPath, options(t, 'shades-zip'));
  await upload(tarPath, options(t, 'shades-tar'));
  const all = await client.datasets();
  const byName = new Map(all.map((d) => [d.name, d]));
  // Same files, same seed: the same samples in the same order, so the same shard hashes.
  t.is(byName.get('shades-zip')!.sha256, byName.get('shades')!.sha256);
  t.is(byName.get('shades-tar')!.sha256, byName.get('shades')!.sha256);
  t.deepEqual(byName.get('shades-tar')!.classNames, CLASSES);
});

test.serial('a file that is not an image, an unreadable image and an empty class are refused by name, keeping nothing', async (t) => {
  const { client, cluster, dir } = t.context;
  const make = async (name: string, extra: (root: string) => Promise<void>) => {
    const root = join(dir, name);
    for (const [label, cls] of CLASSES.slice(0, 2).entries()) {
      await mkdir(join(root, cls), { recursive: true });
      for (let i = 0; i < 30; i++) await sharp(picture(label, seededRandom(i)), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(root, cls, `${i}.png`));
    }
    await extra(root);
    return root;
  };
  const notImage = await make('not-image', (root) => writeFile(join(root, 'light', 'notes.txt'), 'hello'));
  const e1 = await t.throwsAsync(upload(notImage, options(t, 'bad-a')));
  t.regex(e1!.message, /not-image\/light\/notes\.txt: not an image file/);

  // Named .png but not one: found while streaming, after shards were stored; they go.
  const corrupt = await make('corrupt', (root) => writeFile(join(root, 'light', '29.png'), 'not a png at all'));
  const e2 = await t.throwsAsync(upload(corrupt, { ...options(t, 'bad-b'), shardBytes: '4096' }));
  t.regex(e2!.message, /upload abandoned, nothing kept: .*corrupt\/light\/29\.png: not a readable image/);

  const empty = await make('empty-class', (root) => mkdir(join(root, 'stripes')));
  const e3 = await t.throwsAsync(upload(empty, options(t, 'bad-c')));
  t.regex(e3!.message, /empty-class\/stripes: class "stripes" has no images/);

  t.deepEqual((await client.datasets()).map((d) => d.name).filter((n) => n.startsWith('bad')), []);
  for (const name of ['bad-a', 'bad-b', 'bad-c']) t.deepEqual(await storedObjects(cluster, `datasets/${name}/`), []);
});

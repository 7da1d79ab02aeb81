// An image folder as a dataset: one sub-folder per class (the Keras image_dataset_from_directory
// convention), PNG, JPEG or WebP files in it, decoded and resized with sharp to height x width
// x channels values in [0, 1], labels from the sorted folder names. The files are put in a
// seeded random order first, so the held-out share (taken from the end) draws from every class.
// The samples are produced as they are sent (a version-2 tensor file), never held together.
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { TENSOR_HEADER_BYTES, TENSOR_ROWS_VERSION, encodeTensorHeader, encodeTensorRow, seededRandom } from '@syncline/proto';
import sharp from 'sharp';
import type { UploadSource } from './upload-stream.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'] as const;
const FORMATS = new Set(['png', 'jpeg', 'webp']);
/** Images decoded ahead of the one being sent (sharp decodes on libuv's threads). */
const DECODE_AHEAD = 8;

export class ImageFolderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageFolderError';
  }
}

export interface ImageFolderOptions {
  width: number;
  height: number;
  /** 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
  /** Seed of the order the files are sent in. */
  seed: number;
  /** How files are named in errors (the folder or archive the user gave). */
  label: string;
}

export interface ImageFolder {
  classNames: string[];
  files: { path: string; label: number }[];
  inputShape: [number, number, number];
  source: UploadSource;
}

const visible = (name: string) => !name.startsWith('.') && name !== '__MACOSX';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).filter((e) => visible(e.name)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Reads the folder's layout (not the images yet); throws naming the first bad file or class. */
export async function openImageFolder(root: string, opts: ImageFolderOptions): Promise<ImageFolder> {
  const name = (path: string) => join(opts.label, relative(root, path));
  let top = root;
  // An archive of the folder itself holds one folder with the class folders in it.
  for (;;) {
    const entries = (await readdir(top, { withFileTypes: true })).filter((e) => visible(e.name));
    const dirs = entries.filter((e) => e.isDirectory());
    if (entries.length === 1 && dirs.length === 1) {
      const inner = join(top, dirs[0]!.name);
      const innerEntries = (await readdir(inner, { withFileTypes: true })).filter((e) => visible(e.name));
      if (innerEntries.length > 0 && innerEntries.every((e) => e.isDirectory())) {
        top = inner;
        continue;
      }
    }
    const stray = entries.find((e) => !e.isDirectory());
    if (stray) throw new ImageFolderError(`${name(join(top, stray.name))}: a file outside the class folders; put each image in the folder of its class`);
    if (dirs.length < 2) throw new ImageFolderError(`${opts.label}: ${dirs.length} class folder${dirs.length === 1 ? '' : 's'}; a classification needs at least 2 (one sub-folder per class)`);
    break;
  }
  const classNames = (await readdir(top, { withFileTypes: true })).filter((e) => e.isDirectory() && visible(e.name)).map((e) => e.name).sort();
  const files: { path: string; label: number }[] = [];
  for (const [label, cls] of classNames.entries()) {
    const found = await filesUnder(join(top, cls));
    for (const path of found) {
      const lower = path.toLowerCase();
      if (!IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext))) throw new ImageFolderError(`${name(path)}: not an image file (supported: ${IMAGE_EXTENSIONS.join(', ')})`);
      files.push({ path, label });
    }
    if (found.length === 0) throw new ImageFolderError(`${name(join(top, cls))}: class ${JSON.stringify(cls)} has no images`);
  }
  const random = seededRandom(opts.seed);
  for (let i = files.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [files[i], files[j]] = [files[j]!, files[i]!];
  }
  const features = opts.height * opts.width * opts.channels;
  const classes = classNames.length;
  const row = 4 * (features + classes);

  const decode = async (file: { path: string; label: number }): Promise<Uint8Array> => {
    let pixels: Buffer;
    try {
      const image = sharp(file.path, { failOn: 'error' });
      const meta = await image.metadata();
      if (!meta.format || !FORMATS.has(meta.format)) throw new Error(`${meta.format ?? 'unknown'} images are not supported (PNG, JPEG, WebP)`);
      const resized = image.resize(opts.width, opts.height, { fit: 'fill' }).removeAlpha();
      pixels = await (opts.channels === 1 ? resized.grayscale().toColourspace('b-w') : resized.toColourspace('srgb')).raw().toBuffer();
    } catch (err) {
      throw new ImageFolderError(`${name(file.path)}: not a readable image: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (pixels.length !== features) throw new ImageFolderError(`${name(file.path)}: decoded to ${pixels.length} values, expected ${features}`);
    const x = Float32Array.from(pixels, (v) => v / 255);
    const y = new Float32Array(classes);
    y[file.label] = 1;
    return encodeTensorRow(x, y);
  };

  const source: UploadSource = {
    size: TENSOR_HEADER_BYTES + files.length * row,
    async *read(from) {
      if (from === 0) yield encodeTensorHeader(TENSOR_ROWS_VERSION, files.length, features, classes);
      const first = from === 0 ? 0 : (from - TENSOR_HEADER_BYTES) / row;
      if (!Number.isInteger(first)) throw new ImageFolderError(`cannot resume at byte ${from}: not a sample boundary`);
      const pending: Promise<Uint8Array>[] = [];
      let next = first;
      const fill = () => {
        while (pending.length < DECODE_AHEAD && next < files.length) {
          const p = decode(files[next++]!);
          p.catch(() => undefined);
          pending.push(p);
        }
      };
      fill();
      while (pending.length > 0) {
        const bytes = await pending.shift()!;
        fill();
        yield bytes;
      }
    },
  };
  return { classNames, files, inputShape: [opts.height, opts.width, opts.channels], source };
}

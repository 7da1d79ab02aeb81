// loadModel: model.json and its shards over fetch, each shard verified, then built by
// tfjs-layers from memory; tfjs never touches the network itself.
import type { io } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { selectBackend, type BackendName } from './backend.js';
import { ModelLoadError } from './errors.js';
import { get, readBytes, readJson, type Fetch } from './http.js';
import { verifyGroup, type Shard } from './integrity.js';
import { parseModelJson, type ShardGroup, type SynclineModelJson } from './manifest.js';
import { SynclineModel } from './model.js';
import { modelJsonUrl, shardBaseUrl, type ModelSource } from './source.js';

export interface LoadOptions {
  /** Defaults to the global fetch. */
  fetch?: Fetch;
  /** Fraction (0..1) of the weight bytes downloaded, non-decreasing; the last call is 1. */
  onProgress?: (fraction: number) => void;
  /** Preferred backend (default wasm); the other is used when it cannot initialise here. */
  backend?: BackendName;
}

const VERSION_HEADER = 'x-syncline-version';

/**
 * Loads a published model. Throws ModelLoadError when it cannot be fetched or is not a
 * Syncline layers model, ModelIntegrityError when a shard does not match its manifest, and
 * TypeError when `source` cannot name a model.
 */
export async function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<SynclineModel> {
  const url = modelJsonUrl(source);
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const expectedName = typeof source === 'string' ? undefined : source.name;
  // The backend's start (compiling wasm) overlaps the downloads.
  const [backend, { manifest, artifacts }] = await Promise.all([
    selectBackend(options.backend),
    fetchArtifacts(url, expectedName, fetchFn, options.onProgress),
  ]);
  let layersModel: tfl.LayersModel;
  try {
    layersModel = await tfl.loadLayersModel({ load: async () => artifacts });
  } catch (cause) {
    throw new ModelLoadError(url.href, 'tfjs-layers could not build the model', { cause });
  }
  try {
    return new SynclineModel(layersModel, { name: manifest.syncline.name, version: manifest.syncline.version, backend });
  } catch (cause) {
    layersModel.dispose();
    throw new ModelLoadError(url.href, 'the model is not usable through the SDK', { cause });
  }
}

async function fetchArtifacts(
  url: URL,
  expectedName: string | undefined,
  fetchFn: Fetch,
  onProgress: ((fraction: number) => void) | undefined,
): Promise<{ manifest: SynclineModelJson; artifacts: io.ModelArtifacts }> {
  const response = await get(fetchFn, url);
  const manifest = parseModelJson(await readJson(response, url), url.href);
  const { name, version } = manifest.syncline;
  if (expectedName !== undefined && name !== expectedName) {
    throw new ModelLoadError(url.href, `asked for model ${JSON.stringify(expectedName)}, model.json is ${JSON.stringify(name)}`);
  }
  const announced = response.headers.get(VERSION_HEADER);
  if (announced !== null && Number(announced) !== version) {
    throw new ModelLoadError(url.href, `${VERSION_HEADER} says ${announced} but model.json says ${version}`);
  }
  const requested = /\/v1\/models\/[^/]+\/(\d+)\/model\.json$/.exec(url.pathname)?.[1];
  if (requested !== undefined && Number(requested) !== version) {
    throw new ModelLoadError(url.href, `asked for version ${requested}, model.json says ${version}`);
  }

  const base = shardBaseUrl(url, version);
  const progress = progressReporter(
    manifest.weightsManifest.reduce((n, g) => n + g.byteLength, 0),
    onProgress,
  );
  const groups = await Promise.all(
    manifest.weightsManifest.map(async (group) => ({ group, shards: await fetchShards(group, base, fetchFn, progress.add) })),
  );
  progress.done();
  await Promise.all(groups.map(({ group, shards }) => verifyGroup(group, shards)));

  return {
    manifest,
    artifacts: {
      format: manifest.format,
      ...(manifest.generatedBy !== undefined && { generatedBy: manifest.generatedBy }),
      ...(manifest.convertedBy !== undefined && { convertedBy: manifest.convertedBy }),
      modelTopology: manifest.modelTopology,
      // tfjs reads the groups' bytes as one buffer, in manifest order.
      weightSpecs: manifest.weightsManifest.flatMap((g) => g.weights),
      weightData: groups.flatMap(({ shards }) => shards.map((s) => s.bytes)),
    },
  };
}

async function fetchShards(group: ShardGroup, base: URL, fetchFn: Fetch, onBytes: (count: number) => void): Promise<Shard[]> {
  return Promise.all(
    group.shards.map(async (spec) => {
      const url = new URL(spec.path, base);
      // Paths are relative to the model's folder; one that leaves it is not ours to fetch.
      if (!url.href.startsWith(base.href)) {
        throw new ModelLoadError(url.href, `shard path ${JSON.stringify(spec.path)} leaves the model's folder`);
      }
      const bytes = await readBytes(await get(fetchFn, url), url, onBytes);
      return { ...spec, url, bytes };
    }),
  );
}

/** Turns byte counts into monotone fractions, so parallel shard downloads report one progress. */
function progressReporter(totalBytes: number, onProgress: ((fraction: number) => void) | undefined) {
  let received = 0;
  let reported = 0;
  const report = (fraction: number) => {
    if (onProgress === undefined || fraction <= reported) return;
    reported = fraction;
    onProgress(fraction);
  };
  return {
    // Held below 1 until every shard is in, even when shards are longer than the manifest says.
    add: (count: number) => {
      received += count;
      if (totalBytes > 0) report(Math.min(received / totalBytes, 0.99));
    },
    done: () => report(1),
  };
}

// Builds small reference models with the full @tensorflow/tfjs package and publishes them the way
// the coordinator does (model.json with per-shard sha256, plus weight shards), so the SDK is
// tested against bytes it did not write itself.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export const INPUT_SIZE = 784;
export const CLASSES = 10;

/** An MNIST-sized MLP (784 → 16 relu → 10 softmax) with seeded weights. */
export function buildMlp(seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [INPUT_SIZE], units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

/** Writes `model` as {root}/{name}/{version}/model.json plus `shardCount` weight shards. */
export async function publish(
  model: tf.LayersModel,
  root: string,
  name: string,
  version: number,
  shardCount = 1,
  syncline: Record<string, unknown> = {},
): Promise<string> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved?.weightData === undefined || saved.weightSpecs === undefined) throw new Error('model.save gave no weights');
  const weights = new Uint8Array(new tf.io.CompositeArrayBuffer(saved.weightData).slice());
  const shardBytes = Math.ceil(weights.byteLength / shardCount);
  const dir = path.join(root, name, String(version));
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  const sha256: string[] = [];
  for (let i = 0; i < shardCount; i++) {
    const file = `group1-shard${i + 1}of${shardCount}.bin`;
    const bytes = weights.subarray(i * shardBytes, Math.min(weights.byteLength, (i + 1) * shardBytes));
    await writeFile(path.join(dir, file), bytes);
    paths.push(file);
    sha256.push(createHash('sha256').update(bytes).digest('hex'));
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: null,
    modelTopology: saved.modelTopology,
    weightsManifest: [{ paths, weights: saved.weightSpecs, sha256 }],
    syncline: { name, version, jobId: `job-${name}-${version}`, ...syncline },
  };
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
  return dir;
}

/** Deterministic inputs in [0, 1): `count` samples of INPUT_SIZE values, flattened. */
export function sampleInputs(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count * INPUT_SIZE }, () => {
    // mulberry32: a tiny seeded generator, so failures reproduce.
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  });
}

/** The reference model's outputs as plain numbers, so comparisons never mix tensors across backends. */
export function referenceOutputs(model: tf.LayersModel, inputs: Float32Array): number[] {
  return tf.tidy(() => {
    const y = model.predict(tf.tensor2d(inputs, [inputs.length / INPUT_SIZE, INPUT_SIZE])) as tf.Tensor;
    return Array.from(y.dataSync());
  });
}

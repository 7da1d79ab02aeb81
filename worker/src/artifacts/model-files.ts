// Serialises a trained model as TF.js layers artifacts: model.json plus weight shards of at most
// 4 MiB, with our integrity extension: a sha256 per shard, parallel to `paths`.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';

export const SHARD_BYTES = 4 * 1024 * 1024;

export interface ModelFiles {
  /** File name (relative to model.json) to bytes; includes "model.json". */
  files: Map<string, Uint8Array>;
  modelJson: Record<string, unknown>;
}

function concatWeightData(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  if (!Array.isArray(data)) return new Uint8Array(data);
  const total = data.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return out;
}

export async function modelFiles(model: tf.LayersModel, meta: Record<string, unknown>): Promise<ModelFiles> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved?.weightSpecs || !saved.weightData) throw new Error('model.save produced no weights');
  const weights = concatWeightData(saved.weightData as ArrayBuffer | ArrayBuffer[]);
  const shardCount = Math.max(1, Math.ceil(weights.byteLength / SHARD_BYTES));
  const files = new Map<string, Uint8Array>();
  const paths: string[] = [];
  const sha256: string[] = [];
  for (let i = 0; i < shardCount; i++) {
    const path = `group1-shard${i + 1}of${shardCount}.bin`;
    const bytes = weights.subarray(i * SHARD_BYTES, Math.min(weights.byteLength, (i + 1) * SHARD_BYTES));
    files.set(path, bytes);
    paths.push(path);
    sha256.push(createHash('sha256').update(bytes).digest('hex'));
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: null,
    modelTopology: saved.modelTopology,
    weightsManifest: [{ paths, weights: saved.weightSpecs, sha256 }],
    syncline: meta,
  };
  files.set('model.json', new TextEncoder().encode(JSON.stringify(modelJson)));
  return { files, modelJson };
}

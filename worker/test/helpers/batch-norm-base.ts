// A base model for transfer learning shaped like a real CNN's first blocks: convolution → batch
// normalization → relu, twice, then a classifier. Plain TF.js, not built from a job spec: its
// batch normalizations are followed by separate activation layers, as Keras models have them,
// and their moving statistics are set far from what a batch of digits gives, so normalizing
// with a batch's statistics instead of the moving ones shows in every output.
import * as tf from '@tensorflow/tfjs';
import { describeModelJson, type BaseModelInfo } from '@syncline/coordinator';
import { artifactsFromFiles } from '../../src/artifacts/base-model.js';
import { modelFiles } from '../../src/artifacts/model-files.js';

/** Layer indices in the base. */
export const BN_BASE = { conv1: 1, bn1: 2, relu1: 3, conv2: 4, bn2: 5, relu2: 6, flatten: 7, dense: 8 } as const;

export interface BatchNormBase {
  files: Map<string, Uint8Array>;
  info: BaseModelInfo;
  names: string[];
  /** Each layer's weights, in the layer's own order (batch norm: gamma, beta, moving mean, moving variance). */
  weights: Float32Array[][];
  /** The base's files as TF.js model artifacts, checked as a worker reads them. */
  artifacts(): Promise<tf.io.ModelArtifacts>;
  /** The base loaded by plain TF.js (its own BatchNormalization class): the reference. */
  plain(): Promise<tf.LayersModel>;
}

/** Values for a batch norm's weights: i-th channel of each, well away from 1 and 0. */
function statistics(channels: number, seed: number): tf.Tensor[] {
  const ramp = (a: number, b: number) => tf.tensor1d(Array.from({ length: channels }, (_, c) => a + b * ((c * 7 + seed) % channels)));
  return [ramp(0.6, 0.25), ramp(-0.3, 0.15), ramp(-0.4, 0.3), ramp(0.5, 0.4)];
}

export async function batchNormBase(name = 'bn-base', version = 1): Promise<BatchNormBase> {
  const model = tf.sequential({
    layers: [
      tf.layers.reshape({ inputShape: [784], targetShape: [28, 28, 1] }),
      tf.layers.conv2d({ filters: 4, kernelSize: 5, strides: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }),
    ],
  });
  // Saved frozen, as Keras writes a model fine-tuned with its first block frozen: its weights
  // are listed as non-trainable, which is not state.
  model.layers[BN_BASE.conv1]!.trainable = false;
  for (const [i, layer] of [BN_BASE.bn1, BN_BASE.bn2].entries()) {
    const values = statistics(4, i + 1);
    model.layers[layer]!.setWeights(values);
    tf.dispose(values);
  }
  const { files } = await modelFiles(model, { name });
  const weights = model.layers.map((l) => l.getWeights().map((w) => (w.dataSync() as Float32Array).slice()));
  const names = model.layers.map((l) => l.name);
  model.dispose();
  const artifacts = () => artifactsFromFiles(files.get('model.json')!, async (p) => files.get(p), name);
  return {
    files,
    info: await describeModelJson(files.get('model.json')!, name, version),
    names,
    weights,
    artifacts,
    plain: async () => tf.loadLayersModel(tf.io.fromMemory(await artifacts())),
  };
}

/** A layer's weights as flat arrays, in its own order (a model's getWeights puts trainable ones first). */
export function layerWeights(layer: tf.layers.Layer): Float32Array[] {
  return layer.getWeights().map((w) => w.dataSync() as Float32Array);
}

// A TF.js layers model's topology as the spec checks need it (spec/base-model.ts): read by TF.js
// itself, so any layers model is understood; weights are not needed (TF.js builds the layers
// with fresh values, which are dropped at once).
import * as tf from '@tensorflow/tfjs';
import type { BaseModelInfo } from '../spec/base-model.js';

export class BaseModelFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BaseModelFormatError';
  }
}

const withoutBatch = (shape: unknown): number[] => (Array.isArray(shape) && !Array.isArray(shape[0]) ? (shape.slice(1) as number[]) : []);

/**
 * Whether `layer` keeps non-trainable weights while it trains: a layer saved frozen (trainable:
 * false, as Keras writes a fine-tuned model) reports all its weights as non-trainable, which
 * is not state. The model is a throwaway copy, so its layers' flags may change.
 */
function hasState(layer: tf.layers.Layer): boolean {
  layer.trainable = true;
  return layer.nonTrainableWeights.length > 0;
}

export async function describeModelJson(modelJson: Uint8Array, name: string, version: number): Promise<BaseModelInfo> {
  let topology: unknown;
  try {
    topology = (JSON.parse(new TextDecoder().decode(modelJson)) as { modelTopology?: unknown }).modelTopology;
  } catch (err) {
    throw new BaseModelFormatError(`model ${name} v${version}: model.json is not JSON`, { cause: err });
  }
  if (!topology || typeof topology !== 'object') throw new BaseModelFormatError(`model ${name} v${version}: model.json has no modelTopology (a TF.js layers model is needed)`);
  await tf.ready();
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] });
  } catch (err) {
    throw new BaseModelFormatError(`model ${name} v${version}: TF.js cannot read its topology: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (model.getClassName() !== 'Sequential' || model.inputs.length !== 1) throw new BaseModelFormatError(`model ${name} v${version}: only sequential models (one chain of layers) can be a base; this one is a ${model.getClassName()}`);
    return {
      name,
      version,
      inputShape: withoutBatch(model.inputs[0]!.shape),
      layers: model.layers.map((l) => {
        const activation = l.getConfig().activation;
        return {
          name: l.name,
          className: l.getClassName(),
          outputShape: withoutBatch(l.outputShape),
          ...(typeof activation === 'string' ? { activation } : {}),
          hasState: hasState(l),
        };
      }),
    };
  } finally {
    model.dispose();
  }
}


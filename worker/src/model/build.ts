// Builds a TF.js model from a job's ModelSpec; one builder per layer kind, in one list.
import * as tf from '@tensorflow/tfjs';
import type { Layer, ModelSpec } from '@syncline/proto';

type LayerKind = NonNullable<Layer['kind']>['$case'];
type LayerBuilder<K extends LayerKind> = (
  value: Extract<NonNullable<Layer['kind']>, { $case: K }>['value'],
  ctx: { seed: number; inputShape?: number[] },
) => tf.layers.Layer;

const layerBuilders: { [K in LayerKind]: LayerBuilder<K> } = {
  dense: (dense, ctx) =>
    tf.layers.dense({
      units: dense.units,
      activation: (dense.activation || 'linear') as 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: ctx.seed }),
      biasInitializer: 'zeros',
      ...(ctx.inputShape ? { inputShape: ctx.inputShape } : {}),
    }),
};

function buildLayer(layer: Layer, ctx: { seed: number; inputShape?: number[] }): tf.layers.Layer {
  const kind = layer.kind;
  if (!kind) throw new Error('layer without a kind');
  switch (kind.$case) {
    case 'dense':
      return layerBuilders.dense(kind.value, ctx);
  }
}

/** A sequential model whose initial weights depend only on `seed`. */
export function buildModel(spec: ModelSpec, inputShape: number[], seed: number): tf.Sequential {
  const model = tf.sequential();
  spec.layers.forEach((layer, i) => {
    model.add(buildLayer(layer, { seed: (seed * 1000 + i) >>> 0, ...(i === 0 ? { inputShape } : {}) }));
  });
  return model;
}

/** The model's trainable variables in a fixed order (the order of the fusion buffer). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  // LayerVariable keeps its tf.Variable in `val`; the optimizer needs the engine variable.
  return model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}

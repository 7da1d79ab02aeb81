// How many weights a (validated) job's model has, layer by layer, as TF.js builds them: for
// the cluster's cap on model size. Counted on the shapes the spec checks derive.
import { generatorInputSize, type DatasetInfo, type JobSpec, type Layer } from '@syncline/proto';
import { validateBase, type BaseModelInfo } from './base-model.js';
import { checkStack } from './layers.js';

function layerParameters(layer: Layer, input: number[]): number {
  const last = input.at(-1) ?? 0;
  const kind = layer.kind;
  switch (kind?.$case) {
    case 'dense':
      return last * kind.value.units + kind.value.units;
    case 'conv2d':
    case 'conv2dTranspose': {
      const [kh = 1, kw = kh] = kind.value.kernelSize;
      return kh * kw * last * kind.value.filters + kind.value.filters;
    }
    case 'batchNormalization':
      // gamma, beta, moving mean and moving variance
      return 4 * last;
    case 'embedding':
      return kind.value.inputDim * kind.value.outputDim;
    case 'simpleRnn':
      return kind.value.units * (last + kind.value.units + 1);
    case 'lstm':
      return 4 * kind.value.units * (last + kind.value.units + 1);
    case 'gru':
      return 3 * kind.value.units * (last + kind.value.units + 1);
    default:
      return 0;
  }
}

function stackParameters(layers: Layer[], field: string, input: { shape: number[]; kind: 'float' | 'tokens'; vocabulary?: number }): number {
  const stack = checkStack(layers, field, input);
  return stack.layers.reduce((sum, layer, i) => sum + layerParameters(layer, stack.inputShapes[i]!), 0);
}

/**
 * Parameters of the model (or of generator and discriminator together) of a validated spec. With
 * a base model (model.base), the job's own layers: the base is a registered model already.
 */
export function countParameters(spec: JobSpec, info: DatasetInfo, base?: BaseModelInfo): number {
  if (spec.gan) {
    return (
      stackParameters(spec.gan.generator, 'gan.generator', { shape: [generatorInputSize(spec.gan, info.target)], kind: 'float' }) +
      stackParameters(spec.gan.discriminator, 'gan.discriminator', { shape: info.inputShape, kind: 'float' })
    );
  }
  if (spec.model?.base && base) {
    const { outputShape } = validateBase(spec.model.base, base, info, spec.dataset!.name);
    return stackParameters(spec.model.layers, 'model.layers', { shape: outputShape, kind: 'float' });
  }
  return stackParameters(spec.model?.layers ?? [], 'model.layers', { shape: info.inputShape, kind: info.input, ...(info.vocabulary ? { vocabulary: info.vocabulary } : {}) });
}

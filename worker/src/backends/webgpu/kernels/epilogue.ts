// What our products do to each output element as they write it: add a bias and apply the fused
// activation (_FusedMatMul, FusedConv2D). Biases and PReLU weights are per output column (one
// value per column, or one for all); other broadcasts are declined, and the caller hands them
// to TF.js's kernel.
import type { TensorInfo } from '@tensorflow/tfjs';

/** The activations TF.js's fused kernels accept, as WGSL expressions of `v`. */
const ACTIVATIONS = {
  linear: 'v',
  relu: 'select(v, 0.0, v < 0.0)',
  relu6: 'clamp(v, 0.0, 6.0)',
  elu: 'select(v, exp(v) - 1.0, v < 0.0)',
  leakyrelu: 'select(v, uniforms.alpha * v, v < 0.0)',
  prelu: 'select(v, weight * v, v < 0.0)',
  sigmoid: '1.0 / (1.0 + exp(-v))',
} as const;

export type Activation = keyof typeof ACTIVATIONS;

/** Values per output column: 'one' for all columns, 'each' for one per column. */
type Broadcast = 'one' | 'each';

export interface Epilogue {
  activation: Activation;
  bias?: Broadcast;
  prelu?: Broadcast;
  /** Buffer names the epilogue reads, after the operands. */
  inputs: string[];
  /** What distinguishes its WGSL, for the shader cache. */
  key: string;
}

export const NO_EPILOGUE: Epilogue = { activation: 'linear', inputs: [], key: 'linear' };

function broadcast(t: TensorInfo, columns: number): Broadcast | undefined {
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (size === 1) return 'one';
  if (size === columns && t.shape[t.shape.length - 1] === columns) return 'each';
  return undefined;
}

/** The epilogue for these fused inputs, or why ours declines them. */
export function planEpilogue(columns: number, activation: string | null | undefined, bias?: TensorInfo, prelu?: TensorInfo): Epilogue | string {
  const name = activation ?? 'linear';
  if (!(name in ACTIVATIONS)) return `activation ${name}`;
  const epilogue: Epilogue = { activation: name as Activation, inputs: [], key: name };
  if (bias) {
    if (bias.dtype !== 'float32') return `a ${bias.dtype} bias`;
    epilogue.bias = broadcast(bias, columns);
    if (!epilogue.bias) return `a bias of shape [${bias.shape}] for ${columns} columns`;
    epilogue.inputs.push('bias');
    epilogue.key += `_bias${epilogue.bias}`;
  }
  if (name === 'prelu') {
    if (!prelu) return 'prelu without its weights';
    epilogue.prelu = broadcast(prelu, columns);
    if (!epilogue.prelu) return `PReLU weights of shape [${prelu.shape}] for ${columns} columns`;
    epilogue.inputs.push('preluWeights');
    epilogue.key += `_prelu${epilogue.prelu}`;
  }
  return epilogue;
}

/** WGSL: fn epilogue(sum : f32, col : i32) -> f32. */
export function epilogueSnippet(e: Epilogue): string {
  const at = (name: string, b: Broadcast) => `${name}[${b === 'one' ? '0' : 'col'}]`;
  return `
      fn epilogue(sum : f32, col : i32) -> f32 {
        var v = sum;
        ${e.bias ? `v = v + ${at('bias', e.bias)};` : ''}
        ${e.prelu ? `let weight = ${at('preluWeights', e.prelu)};` : ''}
        return ${ACTIVATIONS[e.activation]};
      }`;
}

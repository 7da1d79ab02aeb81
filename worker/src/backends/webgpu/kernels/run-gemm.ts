// Runs our tiled product for a kernel: the program, and where K was split (planGemm), a second
// pass that adds the partial products and applies bias and activation to the sum (through
// TF.js's Sum over the splits' axis instead, a convolution's input gradient took 5x as long on
// SwiftShader); the result in the op's shape.
import type { TensorInfo } from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { webgpu_util } from '@tensorflow/tfjs-backend-webgpu';
import { epilogueSnippet, NO_EPILOGUE, type Epilogue } from './epilogue.js';
import { GemmProgram, planGemm, type GemmShape, type Operand } from './gemm-program.js';
import { reshapeOutput } from './reshape.js';

type Uniform = { type: string; data: number[] };

export interface Gemm {
  name: string;
  shape: GemmShape;
  /** The operands' tensors, bound under `operandNames`, which the loaders read. */
  operands: TensorInfo[];
  operandNames: string[];
  /** The loaders' uniforms: declarations and values, in the same order. */
  uniforms: string;
  uniformData: Uniform[];
  a: Operand;
  b: Operand;
  helpers?: string;
  epilogue: Epilogue;
  /** The epilogue's tensors: bias, then PReLU weights, as `epilogue.inputs` names them. */
  epilogueTensors: TensorInfo[];
  leakyreluAlpha?: number;
  /** The op's output shape, of size batch x M x N. */
  outShape: number[];
}

/** Sums [batch · splits, M, N] partial products over the splits, with bias and activation. */
class SplitSumProgram implements WebGPUProgram {
  readonly variableNames: string[];
  readonly uniforms: string;
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly size = true;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  shaderKey: string;

  constructor(
    readonly outputShape: number[],
    readonly epilogue: Epilogue,
  ) {
    this.variableNames = ['C', ...epilogue.inputs];
    this.uniforms = `dimN : i32, matrixSize : i32, splits : i32,${epilogue.activation === 'leakyrelu' ? ' alpha : f32,' : ''}`;
    this.dispatchLayout = webgpu_util.flatDispatchLayout(outputShape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, outputShape, this.workgroupSize);
    this.shaderKey = `synclineSplitSum_${epilogue.key}`;
  }

  getUserCode(): string {
    return `
      ${epilogueSnippet(this.epilogue)}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let matrix = index / uniforms.matrixSize;
          let first = matrix * uniforms.splits * uniforms.matrixSize + index - matrix * uniforms.matrixSize;
          var sum = 0.0;
          for (var s = 0; s < uniforms.splits; s = s + 1) {
            sum = sum + C[first + s * uniforms.matrixSize];
          }
          setOutputAtIndex(index, epilogue(sum, index % uniforms.dimN));
        }
      }`;
  }
}

const alphaUniform = (e: Epilogue, alpha = 0.2): Uniform[] => (e.activation === 'leakyrelu' ? [{ type: 'float32', data: [alpha] }] : []);

export function runGemm(gpu: WebGPUBackend, g: Gemm): TensorInfo {
  const { shape } = g;
  const plan = planGemm(shape);
  const split = plan.splits > 1;
  const fused = split ? NO_EPILOGUE : g.epilogue;
  const program = new GemmProgram(g.name, shape, g.operandNames, g.uniforms, g.a, g.b, fused, g.helpers, plan);
  const uniforms: Uniform[] = [
    { type: 'int32', data: [shape.m] },
    { type: 'int32', data: [shape.n] },
    { type: 'int32', data: [shape.k] },
    { type: 'int32', data: [plan.kPerSplit] },
    { type: 'int32', data: [plan.splits] },
    ...g.uniformData,
    ...alphaUniform(fused, g.leakyreluAlpha),
  ];
  const product = gpu.runWebGPUProgram(program, [...g.operands, ...(split ? [] : g.epilogueTensors)], 'float32', uniforms);
  if (!split) return reshapeOutput(gpu, product, g.outShape);

  const sum = new SplitSumProgram([shape.batch, shape.m, shape.n], g.epilogue);
  const out = gpu.runWebGPUProgram(sum, [product, ...g.epilogueTensors], 'float32', [
    { type: 'int32', data: [shape.n] },
    { type: 'int32', data: [shape.m * shape.n] },
    { type: 'int32', data: [plan.splits] },
    ...alphaUniform(g.epilogue, g.leakyreluAlpha),
  ]);
  gpu.disposeData(product.dataId);
  return reshapeOutput(gpu, out, g.outShape);
}

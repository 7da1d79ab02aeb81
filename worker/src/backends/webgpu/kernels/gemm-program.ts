// Our tiled matrix product in WGSL, C[batch, M, N] = A[batch, M, K] · B[batch, K, N], shared by
// the matmul and convolution kernels: each of them says how an element of A and of B is read
// (a plain or transposed matrix, or an implicit im2col view of an NHWC image, never
// materialised), and the program does the rest. A workgroup of 16x16 invocations computes a
// (16·block)x(16·block) tile of C; each invocation keeps a block x block square of it in
// registers, taking columns tx, tx+16, … and rows ty, ty+16, … so that the invocations of a
// row read consecutive words of the shared tile of B. K is walked in slices of 16, both
// operands' slices staged in workgroup memory. Reads outside A or B give 0 and writes outside
// C are skipped, so no size has to be a multiple of the tile. Bias and activation are applied
// to each element as it is written (the epilogue).
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { epilogueSnippet, type Epilogue } from './epilogue.js';

/** Invocations per side of the workgroup. */
const SIDE = 16;
/** The slice of K staged per step. */
const SLICE = 16;

/** How the program reads one operand. */
export interface Operand {
  /** WGSL: a body for fn(batch : i32, row : i32, col : i32) -> f32, returning 0 outside the operand. */
  load: string;
  /**
   * Whether consecutive columns are adjacent in memory (A: along K; B: along N). The loads of
   * a tile are ordered so that consecutive invocations read consecutive words either way.
   */
  rowMajor: boolean;
}

export interface GemmShape {
  batch: number;
  m: number;
  n: number;
  k: number;
}

/** Each invocation's block side: 4 (64x64 tiles) where that still gives enough workgroups, else 2. */
export function blockFor({ batch, m, n }: GemmShape): 2 | 4 {
  const bigTiles = batch * Math.ceil(m / (4 * SIDE)) * Math.ceil(n / (4 * SIDE));
  return bigTiles >= 64 ? 4 : 2;
}

/** Workgroups the program dispatches: columns of tiles, rows of tiles, batch. */
export function gemmDispatch(shape: GemmShape, block: number): [number, number, number] {
  const tile = SIDE * block;
  return [Math.ceil(shape.n / tile), Math.ceil(shape.m / tile), shape.batch];
}

/** Why the product does not fit one dispatch on `device`, or undefined when it does. */
export function exceedsDispatch(device: GPUDevice, shape: GemmShape): string | undefined {
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  const dispatch = gemmDispatch(shape, blockFor(shape));
  return dispatch.some((d) => d > limit) ? `${dispatch.join('x')} workgroups, beyond ${limit} per dimension` : undefined;
}

export class GemmProgram implements WebGPUProgram {
  readonly variableNames: string[];
  readonly uniforms: string;
  readonly workgroupSize: [number, number, number] = [SIDE, SIDE, 1];
  readonly outputShape: number[];
  // Not flat: main() reads workgroupId and localId itself.
  readonly dispatchLayout = { x: [2], y: [1], z: [0] };
  readonly dispatch: [number, number, number];
  shaderKey: string;

  /**
   * `inputs`: the operands' buffer names, read by `a.load` and `b.load`; the epilogue's inputs
   * follow. `uniforms`: the loaders' own, declared after M, N and K. `name` and the loaders'
   * flags key the shader cache: one name, one pair of loaders.
   */
  constructor(
    readonly name: string,
    readonly shape: GemmShape,
    inputs: string[],
    uniforms: string,
    readonly a: Operand,
    readonly b: Operand,
    readonly epilogue: Epilogue,
    /** WGSL functions the loaders call. */
    readonly helpers = '',
    readonly block: 2 | 4 = blockFor(shape),
  ) {
    this.variableNames = [...inputs, ...epilogue.inputs];
    this.uniforms = `dimM : i32, dimN : i32, dimK : i32, ${uniforms}${epilogue.activation === 'leakyrelu' ? ' alpha : f32,' : ''}`;
    this.outputShape = [shape.batch, shape.m, shape.n];
    this.dispatch = gemmDispatch(shape, block);
    this.shaderKey = `syncline${name}_${block}_${a.rowMajor}_${b.rowMajor}_${epilogue.key}`;
  }

  getUserCode(): string {
    const block = this.block;
    const tile = SIDE * block;
    const invocations = SIDE * SIDE;
    const loadsPerInvocation = (tile * SLICE) / invocations;
    // Tile element i of a rows x cols tile, ordered so consecutive i are adjacent in memory.
    const place = (rowMajor: boolean, rows: number, cols: number) =>
      rowMajor ? `let r = i / ${cols}; let c = i % ${cols};` : `let r = i % ${rows}; let c = i / ${rows};`;
    const lines: string[] = [];
    for (let k = 0; k < SLICE; k++) {
      for (let j = 0; j < block; j++) lines.push(`b${j} = tileB[${k}][tx + ${j * SIDE}];`);
      for (let i = 0; i < block; i++) {
        lines.push(`a = tileA[ty + ${i * SIDE}][${k}];`);
        for (let j = 0; j < block; j++) lines.push(`acc${i}_${j} = acc${i}_${j} + a * b${j};`);
      }
    }
    const declarations: string[] = [];
    for (let i = 0; i < block; i++) for (let j = 0; j < block; j++) declarations.push(`var acc${i}_${j} = 0.0;`);
    const writes: string[] = [];
    for (let i = 0; i < block; i++) {
      for (let j = 0; j < block; j++) writes.push(`writeC(batch, rowStart + ty + ${i * SIDE}, colStart + tx + ${j * SIDE}, acc${i}_${j});`);
    }
    return `
      var<workgroup> tileA : array<array<f32, ${SLICE}>, ${tile}>;
      var<workgroup> tileB : array<array<f32, ${tile}>, ${SLICE}>;

      ${this.helpers}
      fn loadA(batch : i32, row : i32, col : i32) -> f32 {
        ${this.a.load}
      }
      fn loadB(batch : i32, row : i32, col : i32) -> f32 {
        ${this.b.load}
      }
      ${epilogueSnippet(this.epilogue)}
      fn writeC(batch : i32, row : i32, col : i32, sum : f32) {
        if (row < uniforms.dimM && col < uniforms.dimN) {
          result[(batch * uniforms.dimM + row) * uniforms.dimN + col] = epilogue(sum, col);
        }
      }

      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let flat = i32(localIndex);
        let batch = i32(workgroupId.z);
        let rowStart = i32(workgroupId.y) * ${tile};
        let colStart = i32(workgroupId.x) * ${tile};
        ${declarations.join('\n        ')}
        var a = 0.0;
        ${Array.from({ length: block }, (_, j) => `var b${j} = 0.0;`).join(' ')}
        let slices = (uniforms.dimK + ${SLICE - 1}) / ${SLICE};
        for (var s = 0; s < slices; s = s + 1) {
          let kStart = s * ${SLICE};
          for (var l = 0; l < ${loadsPerInvocation}; l = l + 1) {
            let i = flat + l * ${invocations};
            ${place(this.a.rowMajor, tile, SLICE)}
            tileA[r][c] = loadA(batch, rowStart + r, kStart + c);
          }
          for (var l = 0; l < ${loadsPerInvocation}; l = l + 1) {
            let i = flat + l * ${invocations};
            ${place(this.b.rowMajor, SLICE, tile)}
            tileB[r][c] = loadB(batch, kStart + r, colStart + c);
          }
          workgroupBarrier();
          ${lines.join('\n          ')}
          workgroupBarrier();
        }
        ${writes.join('\n        ')}
      }
    `;
  }
}

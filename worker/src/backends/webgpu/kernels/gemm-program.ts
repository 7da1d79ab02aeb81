// Our tiled matrix product in WGSL, C[batch, M, N] = A[batch, M, K] · B[batch, K, N], shared by
// the matmul and convolution kernels: each of them says how an element of A and of B is read
// (a plain or transposed matrix, or an implicit im2col view of an NHWC image, never
// materialised), and the program does the rest. A workgroup of 16x16 invocations computes a
// (16·rows)x(16·cols) tile of C; each invocation keeps a rows x cols block of it in registers,
// taking columns tx, tx+16, … and rows ty, ty+16, … so that the invocations of a row read
// consecutive words of the shared tile of B. K is walked in slices of 16, both operands' slices
// staged in workgroup memory, each row one word longer than it needs, so that storing a
// column-major operand's slice does not hit one memory bank 16 times. Reads outside A or B give
// 0 and writes outside C are skipped, so no size has to be a multiple of the tile. Bias and
// activation are applied to each element as it is written (the epilogue).
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

/** The block of C each invocation computes: rows x cols, each 1, 2 or 4. */
export interface Blocks {
  rows: 1 | 2 | 4;
  cols: 1 | 2 | 4;
}

/**
 * Blocks as large as 4x4 (64x64 tiles), narrower where C is (a 10-class layer needs no 64
 * columns), and at most 2x2 where larger tiles would leave fewer than 64 workgroups.
 */
export function blocksFor({ batch, m, n }: GemmShape): Blocks {
  const fit = (d: number) => (d <= SIDE ? 1 : d <= 2 * SIDE ? 2 : 4);
  const blocks: Blocks = { rows: fit(m), cols: fit(n) };
  if (batch * Math.ceil(m / (SIDE * blocks.rows)) * Math.ceil(n / (SIDE * blocks.cols)) < 64) {
    blocks.rows = Math.min(blocks.rows, 2) as Blocks['rows'];
    blocks.cols = Math.min(blocks.cols, 2) as Blocks['cols'];
  }
  return blocks;
}

/** How the product is cut up: the block per invocation, and K split into `splits` ranges. */
export interface GemmPlan {
  blocks: Blocks;
  splits: number;
  /** K per split, a multiple of the slice. */
  kPerSplit: number;
}

/** Workgroups to aim for by splitting K. */
const TARGET_WORKGROUPS = 256;
/** The least of K a split is worth: 16 slices. */
const MIN_K_PER_SPLIT = 16 * SLICE;

/**
 * Blocks (blocksFor), and where they leave fewer workgroups than a GPU needs while K is long (a
 * dense layer's forward pass at a small batch: M = batch, K = 9,216), K split into ranges whose
 * partial products are summed afterwards.
 */
export function planGemm(shape: GemmShape): GemmPlan {
  const blocks = blocksFor(shape);
  const workgroups = shape.batch * Math.ceil(shape.m / (SIDE * blocks.rows)) * Math.ceil(shape.n / (SIDE * blocks.cols));
  const wanted = Math.min(Math.ceil(TARGET_WORKGROUPS / workgroups), Math.floor(shape.k / MIN_K_PER_SPLIT));
  const kPerSplit = Math.ceil(shape.k / Math.max(1, wanted) / SLICE) * SLICE;
  return { blocks, kPerSplit, splits: Math.ceil(shape.k / kPerSplit) || 1 };
}

/** Workgroups the program dispatches: columns of tiles, rows of tiles, batch x splits. */
export function gemmDispatch(shape: GemmShape, plan: GemmPlan): [number, number, number] {
  return [Math.ceil(shape.n / (SIDE * plan.blocks.cols)), Math.ceil(shape.m / (SIDE * plan.blocks.rows)), shape.batch * plan.splits];
}

/** Why the product does not fit one dispatch on `device`, or undefined when it does. */
export function exceedsDispatch(device: GPUDevice, shape: GemmShape): string | undefined {
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  const dispatch = gemmDispatch(shape, planGemm(shape));
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
   * follow. `uniforms`: the loaders' own, declared after M, N, K, K per split and splits
   * (gemmUniforms). `name` and the loaders' flags key the shader cache: one name, one pair of
   * loaders. Split (plan.splits > 1), it writes [splits · batch, M, N] partial products.
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
    readonly plan: GemmPlan = planGemm(shape),
  ) {
    this.variableNames = [...inputs, ...epilogue.inputs];
    this.uniforms = `dimM : i32, dimN : i32, dimK : i32, kPerSplit : i32, splits : i32, ${uniforms}${epilogue.activation === 'leakyrelu' ? ' alpha : f32,' : ''}`;
    this.outputShape = [plan.splits * shape.batch, shape.m, shape.n];
    this.dispatch = gemmDispatch(shape, plan);
    this.shaderKey = `syncline${name}_${plan.blocks.rows}x${plan.blocks.cols}_${a.rowMajor}_${b.rowMajor}_${epilogue.key}`;
  }

  getUserCode(): string {
    const { rows, cols } = this.plan.blocks;
    const [tileRows, tileCols] = [SIDE * rows, SIDE * cols];
    const invocations = SIDE * SIDE;
    // Tile element i of a height x width tile, ordered so consecutive i are adjacent in memory.
    const place = (rowMajor: boolean, height: number, width: number) =>
      rowMajor ? `let r = i / ${width}; let c = i % ${width};` : `let r = i % ${height}; let c = i / ${height};`;
    const lines: string[] = [];
    for (let k = 0; k < SLICE; k++) {
      for (let j = 0; j < cols; j++) lines.push(`b${j} = tileB[${k}][tx + ${j * SIDE}];`);
      for (let i = 0; i < rows; i++) {
        lines.push(`a = tileA[ty + ${i * SIDE}][${k}];`);
        for (let j = 0; j < cols; j++) lines.push(`acc${i}_${j} = acc${i}_${j} + a * b${j};`);
      }
    }
    const declarations: string[] = [];
    const writes: string[] = [];
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        declarations.push(`var acc${i}_${j} = 0.0;`);
        writes.push(`writeC(matrix, rowStart + ty + ${i * SIDE}, colStart + tx + ${j * SIDE}, acc${i}_${j});`);
      }
    }
    return `
      var<workgroup> tileA : array<array<f32, ${SLICE + 1}>, ${tileRows}>;
      var<workgroup> tileB : array<array<f32, ${tileCols + 1}>, ${SLICE}>;

      ${this.helpers}
      fn loadA(batch : i32, row : i32, col : i32) -> f32 {
        ${this.a.load}
      }
      fn loadB(batch : i32, row : i32, col : i32) -> f32 {
        ${this.b.load}
      }
      ${epilogueSnippet(this.epilogue)}
      fn writeC(matrix : i32, row : i32, col : i32, sum : f32) {
        if (row < uniforms.dimM && col < uniforms.dimN) {
          result[(matrix * uniforms.dimM + row) * uniforms.dimN + col] = epilogue(sum, col);
        }
      }

      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let flat = i32(localIndex);
        let matrix = i32(workgroupId.z);
        let batch = matrix / uniforms.splits;
        let kFirst = (matrix - batch * uniforms.splits) * uniforms.kPerSplit;
        let kEnd = min(kFirst + uniforms.kPerSplit, uniforms.dimK);
        let rowStart = i32(workgroupId.y) * ${tileRows};
        let colStart = i32(workgroupId.x) * ${tileCols};
        ${declarations.join('\n        ')}
        var a = 0.0;
        ${Array.from({ length: cols }, (_, j) => `var b${j} = 0.0;`).join(' ')}
        // Every split walks kPerSplit (a multiple of the slice): a bound that is uniform, as the
        // barriers need (TF.js keeps workgroupId in a private variable, which the compiler does
        // not take for uniform); the last split's steps past K load zeros.
        let slices = uniforms.kPerSplit / ${SLICE};
        for (var s = 0; s < slices; s = s + 1) {
          let kStart = kFirst + s * ${SLICE};
          for (var l = 0; l < ${(tileRows * SLICE) / invocations}; l = l + 1) {
            let i = flat + l * ${invocations};
            ${place(this.a.rowMajor, tileRows, SLICE)}
            tileA[r][c] = select(0.0, loadA(batch, rowStart + r, kStart + c), kStart + c < kEnd);
          }
          for (var l = 0; l < ${(SLICE * tileCols) / invocations}; l = l + 1) {
            let i = flat + l * ${invocations};
            ${place(this.b.rowMajor, SLICE, tileCols)}
            tileB[r][c] = select(0.0, loadB(batch, kStart + r, colStart + c), kStart + r < kEnd);
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

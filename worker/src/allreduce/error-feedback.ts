// int8 error feedback: what quantization lost on this rank is added to its next contribution, so over
// many steps nothing is lost; the sum of the outputs trails the sum of the true sums by one residual.
//
// Every rank writes the residual of each element it encodes (its contribution, a ring partial sum or a
// reduced result it owns) exactly once per step, so across ranks the outputs telescope:
// Σ_steps output = Σ_steps true sum − Σ_ranks (last residual).

export class ErrorFeedback {
  /** Written by this step's encoders; added to the next step's input. */
  readonly residual: Float64Array;
  /** This step's input plus the last residual: what the rank means to contribute, in float64. */
  readonly contribution: Float64Array;

  constructor(readonly length: number) {
    this.residual = new Float64Array(length);
    this.contribution = new Float64Array(length);
  }

  /** Call at the start of a step, before any encoder writes the residual. */
  prepare(data: Float32Array): Float64Array {
    const { residual, contribution } = this;
    for (let i = 0; i < data.length; i++) contribution[i] = data[i]! + residual[i]!;
    return contribution;
  }

  /** A failed step has overwritten part of the residual: start clean rather than replay a mix of both steps. */
  discard(): void {
    this.residual.fill(0);
  }
}

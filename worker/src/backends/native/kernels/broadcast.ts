// How two operands of a binary op map onto their broadcast output, in the addon's terms: the
// output seen as (outer, middle, inner) and, per operand, whether it spans the whole output,
// repeats over the middle axis, spans only the middle axis, or is a scalar. Covers same shapes,
// scalars, biases ([n] against [m, n]), column vectors ([m, 1] against [m, n]) and their
// combinations; undefined for anything else (the cpu kernel takes it).
import { Broadcast, type BroadcastMode } from '../addon.js';

export interface BroadcastView {
  outer: number;
  middle: number;
  inner: number;
  modeA: BroadcastMode;
  modeB: BroadcastMode;
}

interface Candidate {
  mode: BroadcastMode;
  /** The middle axis, as a range of the output's (non-unit) axes; undefined when any fits. */
  range?: [number, number];
}

/** Per non-unit output axis, whether the operand spans it (true) or is broadcast along it. */
function spans(shape: number[], out: number[]): boolean[] {
  const offset = out.length - shape.length;
  return out.flatMap((d, i) => (d === 1 ? [] : [i >= offset && shape[i - offset] === d]));
}

function candidates(flags: boolean[]): Candidate[] {
  if (flags.every((f) => f)) return [{ mode: Broadcast.full }];
  if (flags.every((f) => !f)) return [{ mode: Broadcast.scalar }];
  // Boundaries between runs of equal flags.
  const cuts = flags.flatMap((f, i) => (i > 0 && f !== flags[i - 1] ? [i] : []));
  const L = flags.length;
  const spansFirst = flags[0]!;
  if (cuts.length === 1) {
    const [p] = cuts as [number];
    // spans..broadcast: repeated over [p, L), or only the first run; broadcast..spans: the reverse.
    return spansFirst
      ? [{ mode: Broadcast.acrossMiddle, range: [p, L] }, { mode: Broadcast.middleOnly, range: [0, p] }]
      : [{ mode: Broadcast.acrossMiddle, range: [0, p] }, { mode: Broadcast.middleOnly, range: [p, L] }];
  }
  if (cuts.length === 2) {
    const [p, q] = cuts as [number, number];
    return [{ mode: spansFirst ? Broadcast.acrossMiddle : Broadcast.middleOnly, range: [p, q] }];
  }
  return [];
}

function sameShape(x: number[], y: number[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function sizeOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function broadcastView(a: number[], b: number[], out: number[]): BroadcastView | undefined {
  // The common cases first, without building the general picture: equal shapes, and a scalar.
  const aFull = sameShape(a, out);
  const bFull = sameShape(b, out);
  if ((aFull || sizeOf(a) === 1) && (bFull || sizeOf(b) === 1)) {
    return { outer: 1, middle: 1, inner: sizeOf(out), modeA: aFull ? Broadcast.full : Broadcast.scalar, modeB: bFull ? Broadcast.full : Broadcast.scalar };
  }
  const dims = out.filter((d) => d !== 1);
  const product = (from: number, to: number) => sizeOf(dims.slice(from, to));
  const ca = candidates(spans(a, out));
  const cb = candidates(spans(b, out));
  for (const x of ca) {
    for (const y of cb) {
      const range = x.range ?? y.range ?? [0, dims.length];
      if (x.range && y.range && (x.range[0] !== y.range[0] || x.range[1] !== y.range[1])) continue;
      return { outer: product(0, range[0]), middle: product(range[0], range[1]), inner: product(range[1], dims.length), modeA: x.mode, modeB: y.mode };
    }
  }
  return undefined;
}

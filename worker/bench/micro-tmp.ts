import { addDecoded, addValues, Encoding, encodeF16, encodeI8, writeDecoded } from '../src/allreduce/codec.js';
const n = 4 * 1024 * 1024;
const x = new Float32Array(n).map((_, i) => Math.sin(i));
const x64 = new Float64Array(x);
const sums = new Float64Array(n);
const out = new Float32Array(n);
const bytes32 = new Uint8Array(x.buffer);
const h = new Uint8Array(2 * n);
const q = new Uint8Array(n);
function time(name: string, f: () => void) {
  f(); f();
  const t = performance.now(); for (let r = 0; r < 5; r++) f(); const ms = (performance.now() - t) / 5;
  console.log(`${name}: ${ms.toFixed(1)} ms per 4M elements = ${(ms * 1e6 / n).toFixed(2)} ns/elem`);
}
time('addValues f32', () => addValues(sums, 0, x, 0, n));
time('addValues f64', () => addValues(sums, 0, x64, 0, n));
time('addDecoded f32', () => addDecoded(Encoding.f32, bytes32, 0, sums, 0));
time('result.set(sums)', () => out.set(sums));
time('new Float32Array(n)', () => { new Float32Array(n); });
time('copy bytes 16MB', () => { new Uint8Array(bytes32); });
time('encodeF16', () => encodeF16(x, h));
time('addDecoded f16', () => addDecoded(Encoding.f16, h, 0, sums, 0));
time('writeDecoded f16', () => writeDecoded(Encoding.f16, h, 0, out, 0));
let s = 0;
time('encodeI8', () => { s = encodeI8(x64, q); });
time('encodeI8+residual', () => { s = encodeI8(x64, q, sums); });
time('addDecoded i8', () => addDecoded(Encoding.i8, q, s, sums, 0));
time('writeDecoded i8', () => writeDecoded(Encoding.i8, q, s, out, 0));

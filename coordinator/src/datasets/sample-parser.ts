// Incremental readers of an uploaded file, fed chunk by chunk as they arrive: each returns the
// samples completed by a chunk, with the byte just after each one, where an interrupted upload
// can resume (a parser is rebuilt there from its `state()`). Nothing but a partial sample, a
// partial CSV line, or a whole version-1 tensor file (bounded, see MAX_V1_TENSOR_BYTES) is held.
import { CsvError, Parser } from 'csv-parse';
import { TENSOR_HEADER_BYTES, TENSOR_MAGIC, TENSOR_ROWS_VERSION, TENSOR_VERSION, TensorFileError, decodeTensorFile, type DatasetUploadHeader } from '@syncline/proto';
import { DatasetFileError } from '../errors.js';

/** A version-1 tensor file keeps every target after every feature, so it is read whole: this is its limit. */
export const MAX_V1_TENSOR_BYTES = 256 * 1024 * 1024;
/** Largest sample (features plus targets), in float32 values: 64 MiB. */
export const MAX_SAMPLE_VALUES = 16 * 1024 * 1024;

export interface Sample {
  x: Float32Array;
  y: Float32Array;
  /** Byte of the file just after this sample, or -1 where an upload cannot resume. */
  end: number;
  /** CSV: the line the sample is on. */
  line: number;
}

export interface SampleParser {
  push(chunk: Uint8Array): Promise<Sample[]>;
  /** The file has ended: the samples still held, or an error if it ended early. */
  finish(): Promise<Sample[]>;
  /** What a parser resuming after `last`, the `samples`-th sample returned, needs (JSON). */
  stateAfter(samples: number, last: Sample): ParserState;
}

export type ParserState =
  | { format: 'tensor'; version: number; samples: number; features: number; targets: number; parsed: number }
  | { format: 'csv'; names: string[]; lines: number }
  | { format: 'start' };

function sampleSizeCheck(features: number, targets: number): void {
  if (features + targets > MAX_SAMPLE_VALUES) throw new DatasetFileError(`a sample of ${features} features and ${targets} targets is larger than the limit of ${MAX_SAMPLE_VALUES} values (${(4 * MAX_SAMPLE_VALUES) / 2 ** 20} MiB)`);
}

/** Syncline tensor files: version 2 (rows) streams; version 1 (features, then targets) is read whole. */
class TensorParser implements SampleParser {
  private pending = new Uint8Array(0);
  private header?: { version: number; samples: number; features: number; targets: number };
  private parsed = 0;
  private v1: Uint8Array[] = [];
  private v1Bytes = 0;

  constructor(
    /** Byte of the file the next chunk starts at. */
    private offset: number,
    resume?: ParserState,
  ) {
    if (resume?.format === 'tensor') {
      this.header = { version: resume.version, samples: resume.samples, features: resume.features, targets: resume.targets };
      this.parsed = resume.parsed;
    }
  }

  stateAfter(samples: number): ParserState {
    if (!this.header) return { format: 'start' };
    return { format: 'tensor', ...this.header, parsed: samples };
  }

  private readHeader(bytes: Uint8Array): void {
    const magic = new TextDecoder().decode(bytes.subarray(0, 4));
    if (magic !== TENSOR_MAGIC) throw new TensorFileError(0, `not a Syncline tensor file (magic ${JSON.stringify(magic)}, expected "SYNT")`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, TENSOR_HEADER_BYTES);
    const version = view.getUint32(4, true);
    if (version !== TENSOR_VERSION && version !== TENSOR_ROWS_VERSION) throw new TensorFileError(4, `unsupported version ${version}`);
    const samples = view.getUint32(8, true);
    const features = view.getUint32(12, true);
    const targets = view.getUint32(16, true);
    if (samples === 0) throw new TensorFileError(8, 'no samples');
    if (features === 0) throw new TensorFileError(12, 'no features');
    if (targets === 0) throw new TensorFileError(16, 'no targets');
    sampleSizeCheck(features, targets);
    this.header = { version, samples, features, targets };
  }

  async push(chunk: Uint8Array): Promise<Sample[]> {
    if (this.header?.version === TENSOR_VERSION) return this.pushV1(chunk);
    let bytes = this.pending.length ? concat(this.pending, chunk) : chunk;
    let at = 0;
    if (!this.header) {
      if (bytes.length < TENSOR_HEADER_BYTES) {
        this.pending = bytes.slice();
        return [];
      }
      this.readHeader(bytes);
      if (this.header!.version === TENSOR_VERSION) return this.pushV1(bytes);
      at = TENSOR_HEADER_BYTES;
    }
    const { features, targets, samples } = this.header!;
    const row = 4 * (features + targets);
    const out: Sample[] = [];
    const base = this.offset - this.pending.length;
    while (bytes.length - at >= row) {
      if (this.parsed === samples) throw new TensorFileError(base + at, `unexpected bytes after the ${samples} samples the header announces`);
      const view = new DataView(bytes.buffer, bytes.byteOffset + at, row);
      const x = new Float32Array(features);
      const y = new Float32Array(targets);
      for (let i = 0; i < features + targets; i++) {
        const v = view.getFloat32(4 * i, true);
        if (!Number.isFinite(v)) throw new TensorFileError(base + at + 4 * i, `${i < features ? `feature ${i}` : `target ${i - features}`} of sample ${this.parsed} is ${v}`);
        if (i < features) x[i] = v;
        else y[i - features] = v;
      }
      at += row;
      this.parsed += 1;
      out.push({ x, y, end: base + at, line: 0 });
    }
    this.pending = bytes.slice(at);
    this.offset += chunk.length;
    bytes = new Uint8Array(0);
    return out;
  }

  private pushV1(chunk: Uint8Array): Sample[] {
    this.v1Bytes += chunk.length;
    if (this.v1Bytes > MAX_V1_TENSOR_BYTES) {
      throw new DatasetFileError(`a version-1 tensor file is read whole and may be at most ${MAX_V1_TENSOR_BYTES} bytes; send version 2 (rows), as \`syncline upload\` does, for larger files`);
    }
    this.v1.push(chunk.slice());
    return [];
  }

  async finish(): Promise<Sample[]> {
    if (this.header?.version === TENSOR_VERSION) {
      const t = decodeTensorFile(concat(...this.v1));
      this.v1 = [];
      const out: Sample[] = [];
      for (let i = 0; i < t.samples; i++) {
        out.push({ x: t.x.slice(i * t.features, (i + 1) * t.features), y: t.y.slice(i * t.targets, (i + 1) * t.targets), end: -1, line: 0 });
      }
      return out;
    }
    const end = this.offset;
    if (!this.header) throw new TensorFileError(end, `file ends inside the ${TENSOR_HEADER_BYTES}-byte header`);
    const { samples, features, targets } = this.header;
    if (this.parsed === samples && this.pending.length > 0) throw new TensorFileError(end - this.pending.length, `${this.pending.length} unexpected bytes after the targets`);
    if (this.parsed < samples) {
      throw new TensorFileError(end, `file is truncated: ${samples} samples need ${TENSOR_HEADER_BYTES + 4 * samples * (features + targets)} bytes, got ${end}`);
    }
    return [];
  }
}

/** CSV: a header row naming the columns, then one sample per row; every cell a finite number. */
class CsvParser implements SampleParser {
  private readonly parser: Parser;
  private names?: string[];
  private featureIdx: number[] = [];
  private targetIdx: number[] = [];
  private records: { record: string[]; bytes: number }[] = [];
  /** Counts line breaks up to each record's end (the parser's own line count lags at times). */
  private readonly lineCounter = new LineCounter();
  private error?: unknown;
  private readonly lineOffset: number;
  private readonly byteOffset: number;

  constructor(
    private readonly header: DatasetUploadHeader,
    offset: number,
    resume?: ParserState,
  ) {
    this.byteOffset = offset;
    this.lineOffset = resume?.format === 'csv' ? resume.lines : 0;
    if (resume?.format === 'csv') this.setNames(resume.names);
    this.parser = new Parser({
      skip_empty_lines: true,
      trim: true,
      max_record_size: 4 * MAX_SAMPLE_VALUES,
      on_record: (record, context) => {
        this.records.push({ record, bytes: context.bytes });
        return null;
      },
    });
    this.parser.on('error', (err) => (this.error ??= err));
    this.parser.resume();
  }

  stateAfter(_samples: number, last: Sample): ParserState {
    return this.names ? { format: 'csv', names: this.names, lines: last.line } : { format: 'start' };
  }

  private setNames(names: string[]): void {
    const h = this.header;
    const classification = h.classes > 0;
    const labelName = h.labelColumn || 'label';
    const targetNames = classification ? [labelName] : h.targetColumns;
    if (targetNames.length === 0) throw new DatasetFileError('a regression dataset needs targetColumns (or classes > 0 with a label column)');
    this.targetIdx = targetNames.map((n) => {
      const i = names.indexOf(n);
      if (i < 0) throw new DatasetFileError(`CSV line 1: no column named ${JSON.stringify(n)} (columns: ${names.join(', ')})`);
      return i;
    });
    this.featureIdx = names.map((_, i) => i).filter((i) => !this.targetIdx.includes(i));
    if (this.featureIdx.length === 0) throw new DatasetFileError('CSV line 1: no feature columns');
    sampleSizeCheck(this.featureIdx.length, classification ? h.classes : this.targetIdx.length);
    this.names = names;
  }

  private csvError(err: unknown): DatasetFileError {
    const e = err as CsvError & { lines?: number };
    const message = e.message.replace(/ on line \d+$/, '');
    return new DatasetFileError(`CSV${e.lines ? ` line ${e.lines + this.lineOffset}` : ''}: ${message}`, { cause: err });
  }

  private take(): Sample[] {
    if (this.error) throw this.csvError(this.error);
    const out: Sample[] = [];
    const h = this.header;
    for (const { record, bytes } of this.records) {
      const line = this.lineCounter.lineEndingAt(bytes) + this.lineOffset;
      if (!this.names) {
        this.setNames(record);
        continue;
      }
      const names = this.names;
      if (record.length !== names.length) throw new DatasetFileError(`CSV line ${line}: ${record.length} columns, the header has ${names.length}`);
      const cell = (i: number): number => {
        const text = record[i] ?? '';
        const v = Number(text);
        if (text === '' || !Number.isFinite(v)) throw new DatasetFileError(`CSV line ${line}, column ${JSON.stringify(names[i])}: ${JSON.stringify(text)} is not a finite number`);
        return v;
      };
      const x = Float32Array.from(this.featureIdx, cell);
      let y: Float32Array;
      if (h.classes > 0) {
        const label = cell(this.targetIdx[0]!);
        if (!Number.isInteger(label) || label < 0 || label >= h.classes) {
          throw new DatasetFileError(`CSV line ${line}, column ${JSON.stringify(names[this.targetIdx[0]!])}: label ${label} is not an integer in [0, ${h.classes})`);
        }
        y = new Float32Array(h.classes);
        y[label] = 1;
      } else {
        y = Float32Array.from(this.targetIdx, cell);
      }
      out.push({ x, y, end: this.byteOffset + bytes, line });
    }
    this.records = [];
    return out;
  }

  async push(chunk: Uint8Array): Promise<Sample[]> {
    this.lineCounter.add(chunk);
    this.parser.write(chunk);
    // The parser reports errors in a later turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    return this.take();
  }

  async finish(): Promise<Sample[]> {
    const ended = new Promise<void>((resolve) => {
      this.parser.once('end', resolve);
      this.parser.once('error', () => resolve());
    });
    this.parser.end();
    await ended;
    const out = this.take();
    if (!this.names) throw new DatasetFileError('CSV line 1: a header row and at least one sample row are required');
    return out;
  }
}

/** The line (from 1) a record ending at a byte is on, over chunks as they come, holding few. */
class LineCounter {
  private chunks: Uint8Array[] = [];
  private scanned = 0;
  private breaks = 0;
  private lastWasBreak = false;

  add(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }

  lineEndingAt(end: number): number {
    while (this.scanned < end && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const take = Math.min(chunk.length, end - this.scanned);
      for (let i = 0; i < take; i++) if (chunk[i] === 10) this.breaks += 1;
      this.lastWasBreak = chunk[take - 1] === 10;
      this.scanned += take;
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
    }
    return this.lastWasBreak ? this.breaks : this.breaks + 1;
  }
}

export function createParser(header: DatasetUploadHeader, offset = 0, resume?: ParserState): SampleParser {
  return header.format === 'csv' ? new CsvParser(header, offset, resume) : new TensorParser(offset, resume);
}

/** A tensor-format error as the file error users see. */
export function asFileError(err: unknown): unknown {
  return err instanceof TensorFileError ? new DatasetFileError(`tensor file: ${err.message}`, { cause: err }) : err;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

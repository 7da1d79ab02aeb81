// Reads an uploaded CSV dataset: a header row naming the columns, then one sample per row.
// Every cell must be a finite number; labels are integers in [0, classes).
import { parse } from 'csv-parse/sync';
import type { DatasetUploadHeader, TensorFile } from '@syncline/proto';
import { DatasetFileError } from '../errors.js';

export function parseCsvDataset(bytes: Uint8Array, header: DatasetUploadHeader): TensorFile {
  let rows: string[][];
  try {
    rows = parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][];
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new DatasetFileError(`CSV${e.lines ? ` line ${e.lines}` : ''}: ${e.message}`, { cause: err });
  }
  const names = rows[0];
  if (!names || rows.length < 2) throw new DatasetFileError('CSV line 1: a header row and at least one sample row are required');
  const classification = header.classes > 0;
  const labelName = header.labelColumn || 'label';
  const targetNames = classification ? [labelName] : header.targetColumns;
  if (targetNames.length === 0) throw new DatasetFileError('a regression dataset needs targetColumns (or classes > 0 with a label column)');
  const targetIdx = targetNames.map((n) => {
    const i = names.indexOf(n);
    if (i < 0) throw new DatasetFileError(`CSV line 1: no column named ${JSON.stringify(n)} (columns: ${names.join(', ')})`);
    return i;
  });
  const featureIdx = names.map((_, i) => i).filter((i) => !targetIdx.includes(i));
  if (featureIdx.length === 0) throw new DatasetFileError('CSV line 1: no feature columns');

  const samples = rows.length - 1;
  const targets = classification ? header.classes : targetIdx.length;
  const x = new Float32Array(samples * featureIdx.length);
  const y = new Float32Array(samples * targets);
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r]!;
    const line = r + 1;
    const cell = (i: number): number => {
      const text = row[i] ?? '';
      const v = Number(text);
      if (text === '' || !Number.isFinite(v)) throw new DatasetFileError(`CSV line ${line}, column ${JSON.stringify(names[i])}: ${JSON.stringify(text)} is not a finite number`);
      return v;
    };
    featureIdx.forEach((c, k) => (x[(r - 1) * featureIdx.length + k] = cell(c)));
    if (classification) {
      const label = cell(targetIdx[0]!);
      if (!Number.isInteger(label) || label < 0 || label >= header.classes) {
        throw new DatasetFileError(`CSV line ${line}, column ${JSON.stringify(labelName)}: label ${label} is not an integer in [0, ${header.classes})`);
      }
      y[(r - 1) * targets + label] = 1;
    } else {
      targetIdx.forEach((c, k) => (y[(r - 1) * targets + k] = cell(c)));
    }
  }
  return { samples, features: featureIdx.length, targets, x, y };
}

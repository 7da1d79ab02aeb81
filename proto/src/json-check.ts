// Checks the proto3 JSON form of a message (a job file) against the generated schema, before
// ts-proto reads it: its fromJSON drops unknown fields and coerces what it reads (Number("ten") is
// NaN, Boolean("false") is true, -5 reaches the encoder as a uint32), so each such mistake is named
// here with its path, what was expected, what was found, and the likely fix.
import { ENUM_JSON_VALUES, MESSAGE_JSON_FIELDS, type JsonField, type JsonScalarType, type JsonValueType } from './gen/json-schema.js';

/** Keys and list indices from the document's root, as written in the document. */
export type JsonPath = readonly (string | number)[];

export interface JsonProblem {
  path: JsonPath;
  /** The key itself is the problem (an unknown field), not its value. */
  atKey?: boolean;
  /** What was expected, what was found, and the fix where there is a likely one. */
  message: string;
}

/** `model.layers[0].dense.units`; the root is `(top level)`. */
export function formatJsonPath(path: JsonPath): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text ? `.${part}` : part;
  return text || '(top level)';
}

/** Splits `model.layers[0].dense.units` back into its parts. */
export function parseJsonPath(text: string): (string | number)[] {
  return [...text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate `value` was most likely meant to be (case-insensitive edit distance, at most a third of its length), if any. */
export function closestName(value: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(value.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(value, c);
    if (d <= limit && d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** The found value, as a user would recognise it from the file. */
export function describeJsonValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

const INTEGER_RANGES: Partial<Record<JsonScalarType, [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  // Generated with forceLong=number: beyond 2^53 a value would silently change.
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};
const FLOAT_MAX = 3.4028234663852886e38;
// proto3 JSON accepts numbers as strings too; an empty or non-decimal string is not one.
const NUMBER_TEXT = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

const shortName = (type: string) => type.split('.').pop()!;

/** Problems with one scalar; undefined when it is fine. */
function scalarProblem(type: JsonScalarType, value: unknown): string | undefined {
  const found = describeJsonValue(value);
  switch (type) {
    case 'string':
      if (typeof value === 'string') return undefined;
      return `expected a string, found ${found}${typeof value === 'number' || typeof value === 'boolean' ? ` (put it in quotes: "${String(value)}")` : ''}`;
    case 'bool':
      if (typeof value === 'boolean') return undefined;
      return `expected true or false, found ${found}${value === 'true' || value === 'false' ? ` (write ${value} without quotes)` : ''}`;
    case 'bytes':
      if (typeof value === 'string' && BASE64.test(value)) return undefined;
      return `expected base64 text (bytes), found ${found}`;
    case 'double':
    case 'float': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && (NUMBER_TEXT.test(value) || ['NaN', 'Infinity', '-Infinity'].includes(value)) ? Number(value) : undefined;
      if (n === undefined) return `expected a number (${type}), found ${found}`;
      if (type === 'float' && Number.isFinite(n) && Math.abs(n) > FLOAT_MAX) return `expected a number within ±${FLOAT_MAX} (float), found ${found}`;
      return undefined;
    }
    default: {
      const [min, max] = INTEGER_RANGES[type]!;
      const expected = `expected a whole number from ${min} to ${max} (${type})`;
      const n = typeof value === 'number' ? value : typeof value === 'string' && NUMBER_TEXT.test(value) ? Number(value) : undefined;
      if (n === undefined) return `${expected}, found ${found}`;
      if (!Number.isInteger(n)) return `${expected}, found ${found}, which is not whole${Number.isFinite(n) ? ` (did you mean ${Math.round(n)}?)` : ''}`;
      if (n < min) return `${expected}, found ${found}${min === 0 ? ', which is negative' : ''}`;
      if (n > max) return `${expected}, found ${found}, which is too large`;
      return undefined;
    }
  }
}

function enumProblem(name: string, value: unknown): string | undefined {
  const values = ENUM_JSON_VALUES[name] ?? {};
  const names = Object.keys(values);
  if (typeof value === 'string' && names.includes(value)) return undefined;
  if (typeof value === 'number' && Object.values(values).includes(value)) return undefined;
  const suggestion = typeof value === 'string' ? closestName(value, names) : undefined;
  return `expected one of ${names.join(', ')} (${shortName(name)}), found ${describeJsonValue(value)}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`;
}

function valueProblems(kind: JsonValueType, value: unknown, path: JsonPath): JsonProblem[] {
  if (kind.type === 'message') return jsonProblems(kind.message, value, path);
  const message = kind.type === 'enum' ? enumProblem(kind.enum, value) : scalarProblem(kind.type, value);
  return message ? [{ path, message }] : [];
}

function fieldProblems(f: JsonField, value: unknown, path: JsonPath): JsonProblem[] {
  // proto3 JSON: null means the field's default.
  if (value === null || value === undefined) return [];
  if (f.type === 'map') {
    if (typeof value !== 'object' || Array.isArray(value)) return [{ path, message: `expected an object (a map), found ${describeJsonValue(value)}` }];
    return Object.entries(value).flatMap(([k, v]) => {
      const keyProblem = f.key === 'string' ? undefined : scalarProblem(f.key, k);
      return keyProblem ? [{ path: [...path, k], atKey: true, message: `map key: ${keyProblem}` }] : valueProblems(f.value, v, [...path, k]);
    });
  }
  if (f.repeated) {
    if (!Array.isArray(value)) {
      const of = f.type === 'message' ? shortName(f.message) : f.type === 'enum' ? shortName(f.enum) : f.type;
      const wrap = f.type === 'message' ? typeof value === 'object' : true;
      return [{ path, message: `expected a list of ${of}, found ${describeJsonValue(value)}${wrap ? ' (put it in [ ])' : ''}` }];
    }
    return value.flatMap((v, i) => valueProblems(f, v, [...path, i]));
  }
  return valueProblems(f, value, path);
}

/** Problems in `json` read as message `type` (e.g. "syncline.v1.JobSpec"), each naming its path. */
export function jsonProblems(type: string, json: unknown, path: JsonPath = []): JsonProblem[] {
  const fields = MESSAGE_JSON_FIELDS[type];
  if (!fields) return [];
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return [{ path, message: `expected an object (${shortName(type)}), found ${describeJsonValue(json)}` }];
  }
  const problems: JsonProblem[] = [];
  const byName = new Map<string, [string, JsonField]>();
  for (const [jsonName, f] of Object.entries(fields)) {
    byName.set(jsonName, [jsonName, f]);
    byName.set(f.protoName, [jsonName, f]);
  }
  const seen = new Map<string, string>();
  const oneofs = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const at = [...path, key];
    const known = byName.get(key);
    if (!known) {
      const names = Object.keys(fields);
      const suggestion = closestName(key, names);
      problems.push({ path: at, atKey: true, message: `unknown field${suggestion ? ` (did you mean ${suggestion}?)` : ''}; ${shortName(type)} has: ${names.join(', ') || 'no fields'}` });
      continue;
    }
    const [jsonName, f] = known;
    const earlier = seen.get(jsonName);
    if (earlier !== undefined) {
      problems.push({ path: at, atKey: true, message: `${earlier} and ${key} name the same field; set it once` });
      continue;
    }
    seen.set(jsonName, key);
    if (f.oneof && value !== null && value !== undefined) {
      const other = oneofs.get(f.oneof);
      if (other !== undefined) {
        const members = Object.entries(fields).filter(([, g]) => g.oneof === f.oneof).map(([n]) => n);
        problems.push({ path: at, atKey: true, message: `${other} is set already; a ${shortName(type)} takes exactly one of: ${members.join(', ')}` });
        continue;
      }
      oneofs.set(f.oneof, key);
    }
    problems.push(...fieldProblems(f, value, at));
  }
  return problems;
}

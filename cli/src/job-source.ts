// Parses a job file's text, JSON or YAML, keeping where each value sits, so every problem (a syntax
// error, a wrong field, a field the coordinator refused) can be given as line:column.
// JSON through jsonc-parser (strict: no comments, no trailing commas) for messages that say what
// was expected; YAML through `yaml`, whose document keeps each node's range.
import { parseTree, type Node as JsonNode, type ParseError, ParseErrorCode } from 'jsonc-parser';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import type { JsonPath, JsonProblem } from '@syncline/proto';

export type JobFileFormat = 'json' | 'yaml';

export interface Position {
  line: number;
  column: number;
}

export interface ParsedSource {
  value: unknown;
  /** Where the value at `path` (or its key, with `atKey`) starts; the nearest enclosing value when absent. */
  locate(path: JsonPath, atKey?: boolean): Position;
  /** Problems the parser sees that are not syntax errors (a key set twice in JSON), placed. */
  problems: PlacedProblem[];
}

export interface PlacedProblem extends JsonProblem {
  position: Position;
}

export interface SyntaxProblem extends Position {
  message: string;
}

/** Offset to 1-based line and column. */
function positions(text: string): (offset: number) => Position {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
}

/** Keys match whether written in proto3 JSON (`globalBatchSize`, `simpleRNN`) or proto (`global_batch_size`, `simple_rnn`) form. */
const sameKey = (a: string, b: string) => a.replaceAll('_', '').toLowerCase() === b.replaceAll('_', '').toLowerCase();

export function parseSource(text: string, format: JobFileFormat): ParsedSource | { syntax: SyntaxProblem } {
  return format === 'yaml' ? parseYaml(text) : parseJson(text);
}

function parseJson(text: string): ParsedSource | { syntax: SyntaxProblem } {
  const at = positions(text);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  // Later errors mostly follow from the first one.
  const first = errors[0];
  if (first || !root) {
    const offset = first?.offset ?? 0;
    return { syntax: { ...at(offset), message: jsonSyntaxMessage(text, first?.error ?? ParseErrorCode.ValueExpected, offset, first?.length ?? 0) } };
  }
  const problems: PlacedProblem[] = [];
  const value = toValue(root, [], problems, at);
  const locate = (path: JsonPath, atKey = false): Position => {
    let node = root;
    for (const [i, part] of path.entries()) {
      const last = i === path.length - 1;
      if (node.type === 'object' && typeof part === 'string') {
        const property = node.children?.find((p) => sameKey(String(p.children?.[0]?.value), part));
        if (!property) break;
        if (last && atKey) return at(property.children![0]!.offset);
        node = property.children![1] ?? property;
      } else if (node.type === 'array' && typeof part === 'number' && node.children?.[part]) {
        node = node.children[part]!;
      } else break;
    }
    return at(node.offset);
  };
  return { value, locate, problems };
}

/** The tree's value; a key set twice is a problem (JSON.parse and fromJSON would keep the last one silently). */
function toValue(node: JsonNode, path: JsonPath, problems: PlacedProblem[], at: (offset: number) => Position): unknown {
  if (node.type === 'array') return (node.children ?? []).map((c, i) => toValue(c, [...path, i], problems, at));
  if (node.type !== 'object') return node.value;
  const object: Record<string, unknown> = {};
  const first = new Map<string, number>();
  for (const property of node.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    const key = String(keyNode?.value);
    if (first.has(key)) {
      const earlier = at(first.get(key)!);
      problems.push({ path: [...path, key], atKey: true, position: at(keyNode!.offset), message: `set twice (first at ${earlier.line}:${earlier.column}); keep one` });
      continue;
    }
    first.set(key, keyNode!.offset);
    if (valueNode) object[key] = toValue(valueNode, [...path, key], problems, at);
  }
  return object;
}

function jsonSyntaxMessage(text: string, code: ParseErrorCode, offset: number, length: number): string {
  const token = text.slice(offset, offset + Math.max(length, 1)).trim();
  const shown = token.length > 40 ? `${token.slice(0, 40)}…` : token;
  const found = offset >= text.length || token === '' ? 'the end of the file' : shown.startsWith('"') ? shown : `'${shown}'`;
  const afterComma = /,\s*$/.test(text.slice(0, offset));
  const trailingComma = afterComma && (token === '}' || token === ']') ? ' (remove the comma before it: JSON allows no trailing comma)' : '';
  switch (code) {
    case ParseErrorCode.InvalidSymbol:
      return `unexpected ${found}: a value is an object, a list, a "string" in double quotes, a number, true, false or null`;
    case ParseErrorCode.InvalidNumberFormat:
    case ParseErrorCode.UnexpectedEndOfNumber:
      return `${found} is not a valid number`;
    case ParseErrorCode.PropertyNameExpected:
      return `expected a field name in double quotes, found ${found}${trailingComma}`;
    case ParseErrorCode.ValueExpected:
      return `expected a value, found ${found}${trailingComma}`;
    case ParseErrorCode.ColonExpected:
      return `expected ':' after the field name, found ${found}`;
    case ParseErrorCode.CommaExpected:
      return `expected ',' before ${found} (or a closing '}' or ']')`;
    case ParseErrorCode.CloseBraceExpected:
      return `expected '}' to close an object, found ${found}`;
    case ParseErrorCode.CloseBracketExpected:
      return `expected ']' to close a list, found ${found}`;
    case ParseErrorCode.EndOfFileExpected:
      return `expected the end of the file after the job's closing '}', found ${found}`;
    case ParseErrorCode.InvalidCommentToken:
    case ParseErrorCode.UnexpectedEndOfComment:
      return 'comments are not allowed in JSON (a .yaml job file may have them)';
    case ParseErrorCode.UnexpectedEndOfString:
      return 'unterminated string: a string ends with " on the same line';
    case ParseErrorCode.InvalidUnicode:
    case ParseErrorCode.InvalidEscapeCharacter:
      return `invalid escape ${found} in a string (write \\\\ for a backslash)`;
    case ParseErrorCode.InvalidCharacter:
      return 'a control character inside a string (write \\n or \\t)';
    default:
      return `unexpected ${found}`;
  }
}

// What the yaml package's terser messages usually mean in a job file.
const YAML_HINTS: Partial<Record<string, string>> = {
  BLOCK_AS_IMPLICIT_KEY: ' (is the next line indented further than the keys beside it?)',
  MULTILINE_IMPLICIT_KEY: ' (is a line indented further than the keys beside it, or a ":" missing?)',
  BAD_INDENT: ' (the keys of one map, and the items of one list, start at the same column)',
};

function parseYaml(text: string): ParsedSource | { syntax: SyntaxProblem } {
  const at = positions(text);
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) return { syntax: { ...at(first.pos[0]), message: `${first.message}${YAML_HINTS[first.code] ?? ''}` } };
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const start = (node: YamlNode | null | undefined) => (node?.range ? node.range[0] : 0);
  const locate = (path: JsonPath, atKey = false): Position => {
    let node = doc.contents as YamlNode | null;
    for (const [i, part] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node) && typeof part === 'string') {
        const pair = node.items.find((p) => isScalar(p.key) && sameKey(String(p.key.value), part));
        if (!pair) break;
        const key = pair.key as YamlNode;
        if ((last && atKey) || !pair.value) return at(start(key));
        node = pair.value as YamlNode;
      } else if (isSeq(node) && typeof part === 'number' && node.items[part]) {
        node = node.items[part] as YamlNode;
      } else break;
    }
    return at(start(node));
  };
  return { value, locate, problems: [] };
}

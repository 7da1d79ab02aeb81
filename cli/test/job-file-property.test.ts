// Property: a random single mistake in any example job file, written as JSON or YAML, is named by
// `syncline validate` as a user runs it: the mutated field's path (on the line that holds it), or,
// for a syntax error, a line:column at or after the damage. One spawned command checks a batch of
// files, so the property runs a few hundred cases in seconds.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { MESSAGE_JSON_FIELDS, formatJsonPath, type JsonPath } from '@syncline/proto';
import { repoRoot, runCli } from './helpers/processes.js';

const test = anyTest as TestFn<{ dir: string; examples: { name: string; text: string; json: Record<string, unknown> }[] }>;

test.before(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'syncline-mutations-'));
  const dir = join(repoRoot, 'examples');
  const names = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  t.context.examples = await Promise.all(
    names.map(async (name) => {
      const text = await readFile(join(dir, name), 'utf8');
      return { name, text, json: JSON.parse(text) as Record<string, unknown> };
    }),
  );
});
test.after.always(async (t) => {
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
});

interface Leaf {
  path: JsonPath;
  value: unknown;
  /** The proto type of the field (uint32, string, …). */
  type: string;
}

/** Every scalar in a job, with its proto type, and every object key with the message it belongs to. */
function walk(value: unknown, message: string, path: JsonPath, leaves: Leaf[], keys: { path: JsonPath; message: string }[]): void {
  const fields = MESSAGE_JSON_FIELDS[message]!;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const f = fields[key]!;
    keys.push({ path: [...path, key], message });
    const items = f.repeated ? (v as unknown[]).map((item, i) => [[...path, key, i], item] as const) : [[[...path, key], v] as const];
    for (const [p, item] of items) {
      if (f.type === 'message') walk(item, f.message, p, leaves, keys);
      else leaves.push({ path: p, value: item, type: f.type });
    }
  }
}

// String fields whose allowed values the coordinator's checks know (activation, loss, …). Not
// dataset.name: offline, an unknown name may be an uploaded dataset (cli.test.ts checks it with a coordinator).
const CHOICES = new Set(['activation', 'loss', 'padding', 'kernelInitializer', 'embeddingsInitializer', 'algorithm', 'compression', 'metrics']);
const isChoice = (l: Leaf) => l.type === 'string' && CHOICES.has(String(l.path.findLast((p) => typeof p === 'string')));
const isInteger = (l: Leaf) => l.type === 'uint32' || l.type === 'int32';

const KINDS = ['wrong type', 'negative unsigned', 'fraction for an integer', 'unknown enum value', 'misspelt field', 'syntax error'] as const;
type Kind = (typeof KINDS)[number];

interface Case {
  file: string;
  kind: Kind;
  format: 'json' | 'yaml';
  text: string;
  /** The field path the message must name, with a text its line must contain; or the offset of the damage. */
  expect: { field: string; onLine: string } | { after: number; exact: boolean };
}

function setAt(root: unknown, path: JsonPath, value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
}

function renameAt(root: unknown, path: JsonPath, to: string): void {
  let node = root as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>;
  // Keep the key's place, so the rest of the file is unchanged.
  const entries = Object.entries(node).map(([k, v]) => [k === path.at(-1) ? to : k, v] as const);
  for (const k of Object.keys(node)) delete node[k];
  Object.assign(node, Object.fromEntries(entries));
}

const pick = <T>(items: readonly T[], n: number): T => items[n % items.length]!;
const serialize = (json: unknown, format: 'json' | 'yaml') => (format === 'json' ? `${JSON.stringify(json, null, 2)}\n` : stringify(json));

function makeCase(example: { name: string; text: string; json: Record<string, unknown> }, kind: Kind, format: 'json' | 'yaml', r: number, r2: number, id: number): Case | undefined {
  const json = structuredClone(example.json);
  const leaves: Leaf[] = [];
  const keys: { path: JsonPath; message: string }[] = [];
  walk(json, 'syncline.v1.JobSpec', [], leaves, keys);
  const file = `${id}-${example.name.replace(/\.json$/, '')}.${format}`;
  const mutateValue = (candidates: Leaf[], to: (l: Leaf) => unknown): Case | undefined => {
    if (!candidates.length) return undefined;
    const leaf = pick(candidates, r);
    const value = to(leaf);
    setAt(json, leaf.path, value);
    return { file, kind, format, text: serialize(json, format), expect: { field: formatJsonPath(leaf.path), onLine: String(value) } };
  };
  switch (kind) {
    case 'wrong type':
      return mutateValue(leaves, (l) => (l.type === 'string' ? pick([7, true, 0.5], r2) : l.type === 'bool' ? pick(['yes', 1], r2) : pick(['many', true, 'x1'], r2)));
    case 'negative unsigned':
      return mutateValue(leaves.filter((l) => l.type === 'uint32'), () => -1 - (r2 % 1000));
    case 'fraction for an integer':
      return mutateValue(leaves.filter(isInteger), (l) => Number(l.value) + pick([0.5, 0.25, 0.1], r2));
    case 'unknown enum value':
      return mutateValue(leaves.filter(isChoice), (l) => `${String(l.value)}${pick(['x', 'z', 'q'], r2)}`);
    case 'misspelt field': {
      const { path, message } = pick(keys, r);
      const key = String(path.at(-1));
      const at = r2 % (key.length + 1);
      let typo = `${key.slice(0, at)}${pick(['x', 'q', 'z'], r2)}${key.slice(at)}`;
      if (typo in MESSAGE_JSON_FIELDS[message]!) typo = `${key}_x`;
      renameAt(json, path, typo);
      return { file, kind, format, text: serialize(json, format), expect: { field: formatJsonPath([...path.slice(0, -1), typo]), onLine: typo } };
    }
    case 'syntax error':
      return format === 'json' ? jsonSyntaxError(example.text, file, r, r2) : yamlSyntaxError(serialize(json, 'yaml'), file, r, r2);
  }
}

/** Damage the example's own text: drop a ',' or ':' (reported exactly at the next token), drop a bracket or quote, or add a stray character. */
function jsonSyntaxError(text: string, file: string, r: number, r2: number): Case {
  const how = pick(['drop , or :', 'drop a bracket or quote', 'stray character'] as const, r2);
  const offsets = [...text.matchAll(how === 'drop , or :' ? /[,:]/g : how === 'drop a bracket or quote' ? /[{}[\]"]/g : /[:,]\s*/g)].map((m) => m.index! + m[0].length * Number(how === 'stray character'));
  const offset = pick(offsets, r);
  const damaged = how === 'stray character' ? `${text.slice(0, offset)}@${text.slice(offset)}` : `${text.slice(0, offset)}${text.slice(offset + 1)}`;
  const exact = how !== 'drop a bracket or quote';
  return { file, kind: 'syntax error', format: 'json', text: damaged, expect: { after: exact ? offset + /^\s*/.exec(damaged.slice(offset))![0].length : offset, exact } };
}

/** Damage a YAML file: a tab as indentation, a flow list or quote left open, or a key indented off its siblings. */
function yamlSyntaxError(text: string, file: string, r: number, r2: number): Case {
  const lines = text.split('\n');
  const starts = lines.map((_, i) => lines.slice(0, i).reduce((n, l) => n + l.length + 1, 0));
  const indented = lines.map((l, i) => i).filter((i) => /^ +\S/.test(lines[i]!));
  const i = pick(indented, r);
  const how = pick(['tab', 'open flow list', 'open quote', 'indent'] as const, r2);
  const line = lines[i]!;
  const colon = line.indexOf(': ');
  // Indenting a key further breaks only a map in which a sibling comes before it (alone, it starts a deeper map).
  const indent = (l: string) => /^ */.exec(l)![0].length;
  const sibling = i > 0 && indent(lines[i - 1]!) === indent(line) && !/^\s*- /.test(line) && !/^\s*- /.test(lines[i - 1]!);
  if (how === 'tab' || colon < 0 || (how === 'indent' && !sibling)) {
    lines[i] = `\t${line.trimStart()}`;
    return { file, kind: 'syntax error', format: 'yaml', text: lines.join('\n'), expect: { after: starts[i]!, exact: true } };
  }
  // A line indented further continues the value on the line above: YAML reports it there.
  if (how === 'indent') lines[i] = ` ${line}`;
  else lines[i] = `${line.slice(0, colon + 2)}${how === 'open quote' ? '"' : '['}${line.slice(colon + 2)}`;
  return { file, kind: 'syntax error', format: 'yaml', text: lines.join('\n'), expect: { after: starts[how === 'indent' ? i - 1 : i]!, exact: false } };
}

const position = (text: string, offset: number) => {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
};

/** Each invalid file's problem lines, by file path. */
function reports(stderr: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stderr.split('\n')) {
    const head = /^syncline: (.+) is not a valid job file \(\d+ problems?\):$/.exec(line);
    if (head) out.set(head[1]!, (current = []));
    else if (line.startsWith('  ') && current) current.push(line.trim());
    else current = undefined;
  }
  return out;
}

test('every single-field mistake in an example, in JSON or YAML, is named by syncline validate', async (t) => {
  const { dir, examples } = t.context;
  let batch = 0;
  const checked = new Map<Kind, number>();
  const arbCase = fc.record({ example: fc.nat(), kind: fc.constantFrom(...KINDS), format: fc.constantFrom('json' as const, 'yaml' as const), r: fc.nat(), r2: fc.nat() });
  await fc.assert(
    fc.asyncProperty(fc.array(arbCase, { minLength: 30, maxLength: 30 }), async (drawn) => {
      batch++;
      const cases = drawn
        .map((d, i) => makeCase(pick(examples, d.example), d.kind, d.format, d.r, d.r2, batch * 100 + i))
        .filter((c): c is Case => c !== undefined);
      for (const c of cases) await writeFile(join(dir, c.file), c.text);
      const r = await runCli(['validate', '--offline', ...cases.map((c) => join(dir, c.file))], 60_000);
      const byFile = reports(r.stderr);
      for (const c of cases) {
        const lines = byFile.get(join(dir, c.file));
        const where = `${c.kind} in ${c.file}:\n${c.text}\n${r.stderr}`;
        if (!lines?.length) throw new Error(`not reported: ${where}`);
        if ('field' in c.expect) {
          const { field, onLine } = c.expect;
          const named = lines.find((l) => l.startsWith(`${field}: `));
          if (!named) throw new Error(`${field} not named: ${where}`);
          const at = /\(at (\d+):(\d+)\)$/.exec(named);
          if (!at || !(c.text.split('\n')[Number(at[1]) - 1] ?? '').includes(onLine)) throw new Error(`${field} placed wrongly (${named}): ${where}`);
        } else {
          const m = /^(\d+):(\d+): (JSON|YAML) syntax: /.exec(lines[0]!);
          if (!m) throw new Error(`no line:column: ${where}`);
          const got = { line: Number(m[1]), column: Number(m[2]) };
          const damage = position(c.text, c.expect.after);
          // An unterminated string is reported where it starts, earlier on the damaged line.
          const ok = c.expect.exact ? got.line === damage.line && got.column === damage.column : got.line >= damage.line;
          if (!ok) throw new Error(`reported at ${got.line}:${got.column}, damage at ${damage.line}:${damage.column}${c.expect.exact ? ' (exactly)' : ' (that line or later)'}: ${where}`);
        }
        checked.set(c.kind, (checked.get(c.kind) ?? 0) + 1);
      }
      if (r.code !== 3) throw new Error(`exit ${r.code}, expected 3:\n${r.stderr}`);
    }),
    { numRuns: 6, endOnFailure: true, includeErrorInReport: true },
  );
  t.log(Object.fromEntries(checked));
  for (const kind of KINDS) t.true((checked.get(kind) ?? 0) > 0, `no case of ${kind}`);
});

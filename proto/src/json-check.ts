// Checks the proto3 JSON form of a message for fields the message does not have (a typo in a
// job file would otherwise be dropped silently by fromJSON) and for two members of one oneof.
import { MESSAGE_JSON_FIELDS, type JsonField } from './gen/json-schema.js';

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

/** Problems in `json` read as message `type` (e.g. "syncline.v1.JobSpec"), each naming its path. */
export function jsonProblems(type: string, json: unknown, path = ''): string[] {
  const fields = MESSAGE_JSON_FIELDS[type];
  if (!fields) return [];
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return [`${path || '(top level)'}: expected an object`];
  const problems: string[] = [];
  const byName = new Map<string, [string, JsonField]>();
  for (const [jsonName, f] of Object.entries(fields)) {
    byName.set(jsonName, [jsonName, f]);
    byName.set(f.protoName, [jsonName, f]);
  }
  const oneofs = new Map<string, string[]>();
  for (const [key, value] of Object.entries(json)) {
    const at = path ? `${path}.${key}` : key;
    const known = byName.get(key);
    if (!known) {
      const names = Object.keys(fields);
      const close = names.filter((n) => distance(n, key) <= 2).sort((a, b) => distance(a, key) - distance(b, key));
      problems.push(`${at}: unknown field${close.length ? ` (did you mean ${close[0]}?)` : ''}; ${type.split('.').pop()} has: ${names.join(', ')}`);
      continue;
    }
    const [jsonName, f] = known;
    if (f.oneof && value !== null && value !== undefined) oneofs.set(f.oneof, [...(oneofs.get(f.oneof) ?? []), jsonName]);
    if (!f.message || value === null || value === undefined) continue;
    if (f.repeated) {
      if (!Array.isArray(value)) problems.push(`${at}: expected a list`);
      else value.forEach((v, i) => problems.push(...jsonProblems(f.message!, v, `${at}[${i}]`)));
    } else {
      problems.push(...jsonProblems(f.message, value, at));
    }
  }
  for (const [oneof, set] of oneofs) {
    if (set.length > 1) problems.push(`${path || '(top level)'}: ${set.join(' and ')} are alternatives (${oneof}); set one`);
  }
  return problems;
}

// The coordinator's structured logger (pino): fields such as `job`, `rank`, `generation`,
// `step` and `worker` rather than preformatted strings. Where the caller only takes lines (the
// local cluster, `syncline up`), each record becomes one line: the message, then key=value.
import { pino, type Logger } from 'pino';

const STANDARD = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** One line per record: `msg key=value ...` (values JSON-quoted only when they need it). */
export function formatRecord(record: Record<string, unknown>): string {
  const fields = Object.entries(record)
    .filter(([k]) => !STANDARD.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`);
  return [String(record.msg ?? ''), ...fields].join(' ');
}

export function lineLogger(sink: (line: string) => void, level = 'info'): Logger {
  return pino({ level }, { write: (json: string) => sink(formatRecord(JSON.parse(json) as Record<string, unknown>)) });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

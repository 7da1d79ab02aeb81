// The log vocabulary coordinator and workers share: structured fields (job, rank, generation,
// step) instead of preformatted strings, so log collectors can filter by them. Any pino logger
// is a Logger; lineLogger serves a plain line sink (a test, the `syncline up` console).

export interface LogFields {
  job?: string;
  rank?: number;
  generation?: number;
  step?: number;
  worker?: string;
  [field: string]: unknown;
}

export interface Logger {
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
}

/** A Logger that writes each record as one line: the message, then its fields as key=value. */
export function lineLogger(write: (line: string) => void): Logger {
  const line = (fields: LogFields, msg: string) =>
    write(
      [msg, ...Object.entries(fields).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`]))].join(' '),
    );
  return { info: line, warn: line, error: line };
}

/** A Logger that drops every record (a coordinator or worker started without a log sink). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

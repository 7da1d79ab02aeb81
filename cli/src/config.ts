// Where the CLI finds its coordinator and credential. `syncline up` writes a config file (JSON:
// coordinator, http, token; `ca` once TLS is on); every command reads, first found wins:
// --config / SYNCLINE_CONFIG (that file, which must exist), then SYNCLINE_TOKEN, then the default
// config file (~/.config/syncline/config.json, or under $XDG_CONFIG_HOME). The address:
// --coordinator, then SYNCLINE_COORDINATOR, then the config file's, then 127.0.0.1:7070.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from './errors.js';

export interface ClientConfig {
  /** host:port of the coordinator's gRPC endpoint. */
  coordinator: string;
  /** Base URL of the coordinator's HTTP endpoint (registry, dashboard). */
  http?: string;
  /** The bearer token sent with every call. */
  token?: string;
  /** PEM file of the CA that signed the coordinator's certificate (with TLS). */
  ca?: string;
}

export const DEFAULT_COORDINATOR = '127.0.0.1:7070';

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'syncline', 'config.json');
}

/** Where `syncline up` keeps the cluster's secrets between starts. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'syncline');
}

export async function readConfig(path: string): Promise<ClientConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the config file ${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const c = value as Partial<Record<keyof ClientConfig, unknown>>;
  for (const key of ['coordinator', 'http', 'token', 'ca'] as const) {
    if (c[key] !== undefined && typeof c[key] !== 'string') throw new UsageError(`the config file ${path}: "${key}" must be a string`);
  }
  if (typeof c.coordinator !== 'string' || !c.coordinator) throw new UsageError(`the config file ${path} names no "coordinator" (host:port)`);
  return c as ClientConfig;
}

/** Writes `config` readable by its owner only (it holds a token). */
export async function writeConfig(path: string, config: ClientConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
}

/** The options of every command that talks to the coordinator. */
export interface ConnectOptions {
  coordinator?: string;
  config?: string;
}

/** The connection a command uses, and where its token came from (for error messages). */
export interface Resolved extends ClientConfig {
  tokenSource: string;
}

export async function resolveConfig(opts: ConnectOptions, env: NodeJS.ProcessEnv = process.env): Promise<Resolved> {
  const explicit = opts.config ?? env.SYNCLINE_CONFIG;
  // The file that names the coordinator (and, without SYNCLINE_TOKEN, the token).
  const path = explicit ?? defaultConfigPath(env);
  const file = explicit || existsSync(path) ? await readConfig(path) : undefined;
  const [token, tokenSource] = explicit
    ? [file?.token, `the token in ${explicit}`]
    : env.SYNCLINE_TOKEN
      ? [env.SYNCLINE_TOKEN, 'the token in SYNCLINE_TOKEN']
      : [file?.token, `the token in ${path}`];
  const coordinator = opts.coordinator ?? env.SYNCLINE_COORDINATOR ?? file?.coordinator ?? DEFAULT_COORDINATOR;
  return {
    coordinator,
    ...(file?.http ? { http: file.http } : {}),
    ...(token ? { token } : {}),
    ...(file?.ca ? { ca: file.ca } : {}),
    tokenSource: token ? tokenSource : 'no token (run `syncline up`, or set SYNCLINE_TOKEN or --config)',
  };
}

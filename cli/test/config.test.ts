// Where a command finds its coordinator and token: --config / SYNCLINE_CONFIG, then
// SYNCLINE_TOKEN, then the default config file; the address from --coordinator, then
// SYNCLINE_COORDINATOR, then the file. Files written for the user alone.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { defaultConfigPath, resolveConfig, writeConfig } from '../src/config.js';
import { UsageError } from '../src/errors.js';

const test = anyTest as TestFn<{ dir: string }>;
test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'syncline-config-'));
});
test.afterEach.always(async (t) => {
  await rm(t.context.dir, { recursive: true, force: true });
});

test('the first of --config, SYNCLINE_TOKEN and the default file gives the token', async (t) => {
  const { dir } = t.context;
  const env = { XDG_CONFIG_HOME: dir };
  const defaultFile = defaultConfigPath(env);
  t.is(defaultFile, join(dir, 'syncline', 'config.json'));
  await writeConfig(defaultFile, { coordinator: '10.0.0.1:7070', http: 'http://10.0.0.1:7080', token: 'from-default' });
  t.is((await stat(defaultFile)).mode & 0o777, 0o600);
  const explicit = join(dir, 'other.json');
  await writeConfig(explicit, { coordinator: '10.0.0.2:7070', token: 'from-explicit' });

  const byDefault = await resolveConfig({}, env);
  t.like(byDefault, { coordinator: '10.0.0.1:7070', http: 'http://10.0.0.1:7080', token: 'from-default', tokenSource: `the token in ${defaultFile}` });
  const byVariable = await resolveConfig({}, { ...env, SYNCLINE_TOKEN: 'from-variable' });
  t.like(byVariable, { coordinator: '10.0.0.1:7070', token: 'from-variable', tokenSource: 'the token in SYNCLINE_TOKEN' });
  const byFlag = await resolveConfig({ config: explicit }, { ...env, SYNCLINE_TOKEN: 'from-variable' });
  t.like(byFlag, { coordinator: '10.0.0.2:7070', token: 'from-explicit' });
  const byConfigVariable = await resolveConfig({}, { ...env, SYNCLINE_CONFIG: explicit, SYNCLINE_TOKEN: 'from-variable' });
  t.is(byConfigVariable.token, 'from-explicit');
  t.is((await resolveConfig({ coordinator: 'flag:1' }, { ...env, SYNCLINE_COORDINATOR: 'env:2' })).coordinator, 'flag:1');
  t.is((await resolveConfig({}, { ...env, SYNCLINE_COORDINATOR: 'env:2' })).coordinator, 'env:2');
  const nothing = await resolveConfig({}, { XDG_CONFIG_HOME: join(dir, 'empty') });
  t.is(nothing.coordinator, '127.0.0.1:7070');
  t.is(nothing.token, undefined);
  t.regex(nothing.tokenSource, /^no token \(run `syncline up`, or set SYNCLINE_TOKEN or --config\)$/);
});

test('a config file named but missing, not JSON or without a coordinator is a usage error naming it', async (t) => {
  const { dir } = t.context;
  const missing = join(dir, 'missing.json');
  await t.throwsAsync(resolveConfig({ config: missing }, {}), { instanceOf: UsageError, message: new RegExp(`cannot read the config file ${missing}`) });
  const broken = join(dir, 'broken.json');
  await writeFile(broken, '{"coordinator": ');
  await t.throwsAsync(resolveConfig({ config: broken }, {}), { instanceOf: UsageError, message: /is not JSON/ });
  const empty = join(dir, 'empty.json');
  await writeFile(empty, '{"token": "x"}');
  await t.throwsAsync(resolveConfig({ config: empty }, {}), { instanceOf: UsageError, message: /names no "coordinator"/ });
  // The default file too, when it exists: a broken one is not silently skipped.
  const env = { XDG_CONFIG_HOME: join(dir, 'home') };
  await writeConfig(defaultConfigPath(env), { coordinator: 'a:1' });
  await writeFile(defaultConfigPath(env), 'nope');
  await t.throwsAsync(resolveConfig({}, env), { instanceOf: UsageError, message: /is not JSON/ });
});

// The Grafana dashboard in deploy/ asks only for series the coordinator exports, and every
// per-job query follows the dashboard's job variable.
import { readFile } from 'node:fs/promises';
import anyTest, { type TestFn } from 'ava';
import { startFixture, type Fixture } from './helpers/cluster.js';

const test = anyTest as TestFn<{ fixture: Fixture }>;
test.before(async (t) => {
  t.context.fixture = await startFixture();
});
test.after.always(async (t) => {
  await t.context.fixture?.stop();
});

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

test('every metric in the dashboard is on /metrics', async (t) => {
  const dashboard = JSON.parse(await readFile(new URL('../../deploy/components/grafana-dashboard/syncline-dashboard.json', import.meta.url), 'utf8')) as { panels: Panel[] };
  const exported = new Set([...(await (await fetch(`${t.context.fixture.coordinator.httpUrl}/metrics`)).text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ panel: p.title, expr: target.expr })));
  t.true(queries.length > 15);
  for (const { panel, expr } of queries) {
    for (const [name] of expr.matchAll(/syncline_[a-z0-9_]+/g)) {
      t.true(exported.has(name.replace(/_(bucket|sum|count)$/, '')), `${panel}: ${name} is not exported`);
    }
    if (/syncline_job_/.test(expr)) t.regex(expr, /job=~"\$job"/, `${panel} follows $job`);
  }
});

// Connected workers: backend, host, the job each trains, and when it was last heard from.
import { ago, h } from '../dom.js';

export function workersView(root, state) {
  const list = h('div', { class: 'table-wrap' });
  root.append(h('h1', {}, 'Workers'), list);
  const render = () => {
    if (state.workers.length === 0) return list.replaceChildren(h('p', { class: 'empty' }, 'No worker is connected.'));
    list.replaceChildren(
      h(
        'table',
        { id: 'workers' },
        h('thead', {}, h('tr', {}, ['Worker', 'Backend', 'Host', 'Current job', 'Last heartbeat', 'Speed'].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          state.workers.map((w) =>
            h(
              'tr',
              { 'data-worker': w.id },
              h('td', { 'data-label': 'Worker' }, h('strong', {}, w.id)),
              h('td', { 'data-label': 'Backend' }, h('span', { class: 'tag' }, w.backend || '?')),
              h('td', { 'data-label': 'Host' }, `${w.hostname} · pid ${w.pid}`),
              h('td', { 'data-label': 'Current job' }, w.jobId ? h('a', { href: `#/jobs/${encodeURIComponent(w.jobId)}` }, state.jobs.get(w.jobId)?.name ?? w.jobId) : h('span', { class: 'muted' }, 'idle')),
              h('td', { 'data-label': 'Last heartbeat' }, ago(w.lastHeartbeatUnixMs)),
              h('td', { 'data-label': 'Speed' }, w.samplesPerSecond ? `${Math.round(w.samplesPerSecond).toLocaleString('en')} samples/s` : '–'),
            ),
          ),
        ),
      ),
    );
  };
  render();
  return { onJob() {}, onWorkers: render, onMetrics() {}, destroy() {} };
}

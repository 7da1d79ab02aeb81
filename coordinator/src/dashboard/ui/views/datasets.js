// Datasets jobs can name: built in and uploaded, with shapes, sizes and classes.
import { getJson } from '../api.js';
import { h } from '../dom.js';

export async function datasetsView(root) {
  const { datasets } = await getJson('api/datasets');
  root.append(
    h('h1', {}, 'Datasets'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'datasets' },
        h('thead', {}, h('tr', {}, ['Name', 'Input shape', 'Train', 'Held out', 'Target', 'About'].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          datasets.map((d) =>
            h(
              'tr',
              {},
              h('td', { 'data-label': 'Name' }, h('strong', {}, d.name), ' ', h('span', { class: 'tag' }, d.source)),
              h('td', { 'data-label': 'Input shape' }, `[${d.inputShape.join(', ')}]${d.input === 'tokens' ? ' tokens' : ''}`),
              h('td', { 'data-label': 'Train' }, d.train.toLocaleString('en')),
              h('td', { 'data-label': 'Held out' }, d.heldout.toLocaleString('en')),
              h('td', { 'data-label': 'Target' }, d.classes > 0 ? `${d.classes} classes` : `${d.targetSize} value${d.targetSize > 1 ? 's' : ''} (regression)`),
              h('td', { 'data-label': 'About', class: 'muted' }, d.description),
            ),
          ),
        ),
      ),
    ),
  );
  return { onJob() {}, onWorkers() {}, onMetrics() {}, destroy() {} };
}

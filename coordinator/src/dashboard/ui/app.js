// The dashboard: one live stream keeps jobs and workers current; the view in the URL's hash
// renders from that state and gets every change as it comes.
import { Unauthorized, stream, token } from './api.js';
import { h } from './dom.js';
import { datasetsView } from './views/datasets.js';
import { jobView } from './views/job.js';
import { jobsView } from './views/jobs.js';
import { modelsView } from './views/models.js';
import { workersView } from './views/workers.js';

const state = { jobs: new Map(), workers: [] };
const viewRoot = document.getElementById('view');
const live = document.getElementById('live');
const dialog = document.getElementById('token-dialog');
let view;
let connection;

function askForToken(reason) {
  document.getElementById('token-reason').textContent = reason;
  document.getElementById('token-input').value = token.get();
  if (!dialog.open) dialog.showModal();
}

async function render() {
  view?.destroy();
  view = undefined;
  const [, page = 'jobs', id] = location.hash.split('/').map(decodeURIComponent);
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === page);
  const root = h('div', { class: `page ${page}` });
  viewRoot.replaceChildren(root);
  document.body.dataset.view = page;
  try {
    if (page === 'jobs' && id) view = await jobView(root, id, state, render);
    else if (page === 'workers') view = workersView(root, state);
    else if (page === 'models') view = await modelsView(root, id);
    else if (page === 'datasets') view = await datasetsView(root);
    else view = jobsView(root, state);
    document.body.dataset.ready = page;
  } catch (err) {
    if (err instanceof Unauthorized) askForToken('This cluster asks for a token. It is kept for this browser session only.');
    root.append(h('p', { class: 'error' }, `Could not load this page: ${err.message}`));
  }
}

function onEvent(name, data) {
  if (name === 'snapshot') {
    state.jobs = new Map(data.jobs.map((j) => [j.id, j]));
    state.workers = data.workers;
    live.textContent = 'live';
    live.className = 'live on';
    view?.onJob?.({});
    view?.onWorkers?.();
  } else if (name === 'job') {
    state.jobs.set(data.id, data);
    view?.onJob(data);
  } else if (name === 'metrics') {
    const job = state.jobs.get(data.jobId);
    if (job) {
      job.step = data.metrics.step ?? 0;
      job.progress = job.totalSteps ? job.step / job.totalSteps : 0;
    }
    view?.onMetrics(data.jobId, data.metrics, data.atUnixMs);
  } else if (name === 'workers') {
    state.workers = data;
    view?.onWorkers();
  }
}

/** Keeps the live stream open: reconnects after a drop, asks for a token when refused. */
async function connect() {
  connection?.abort();
  const controller = new AbortController();
  connection = controller;
  for (;;) {
    try {
      await stream(onEvent, controller.signal);
    } catch (err) {
      if (controller.signal.aborted) return;
      if (err instanceof Unauthorized) {
        live.textContent = 'token needed';
        live.className = 'live off';
        askForToken('This cluster asks for a token. It is kept for this browser session only.');
        return;
      }
    }
    if (controller.signal.aborted) return;
    live.textContent = 'reconnecting';
    live.className = 'live off';
    await new Promise((r) => setTimeout(r, 2000));
  }
}

document.getElementById('token-button').addEventListener('click', () => askForToken('The token is sent with every request as Authorization: Bearer, and kept for this browser session only.'));
document.getElementById('token-form').addEventListener('submit', () => {
  token.set(document.getElementById('token-input').value.trim());
  void connect();
  void render();
});
document.getElementById('token-clear').addEventListener('click', () => {
  token.set('');
  document.getElementById('token-input').value = '';
});
addEventListener('hashchange', render);
void connect();
void render();

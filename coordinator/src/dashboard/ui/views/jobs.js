// The job list: state, progress, ETA, workers and generation, speed, and why a job failed or waits.
import { duration, h, num, progressBar, stateBadge } from '../dom.js';

export function jobCard(job) {
  return h(
    'a',
    { class: `card job ${job.state}`, href: `#/jobs/${encodeURIComponent(job.id)}`, 'data-job': job.id, 'data-state': job.state },
    h('div', { class: 'row' }, h('strong', {}, job.name), stateBadge(job.state), h('span', { class: 'muted id' }, job.id)),
    progressBar(job.progress, job.state),
    h(
      'div',
      { class: 'facts' },
      h('span', {}, `step ${job.step} / ${job.totalSteps}`),
      job.state === 'running' && h('span', {}, `ETA ${duration(job.etaSeconds)}`),
      job.generation > 0 && h('span', {}, `${job.workers.length} workers · gen ${job.generation}`),
      job.membershipChanges > 0 && h('span', {}, `${job.membershipChanges} membership change${job.membershipChanges > 1 ? 's' : ''}`),
      job.state === 'running' && job.samplesPerSecond > 0 && h('span', {}, `${Math.round(job.samplesPerSecond).toLocaleString('en')} samples/s`),
      job.result?.accuracy !== undefined && h('span', {}, `held-out accuracy ${num(job.result.accuracy)}`),
    ),
    job.error && h('div', { class: `reason ${job.state}` }, job.error),
  );
}

export function jobsView(root, state) {
  const list = h('div', { class: 'cards', id: 'jobs' });
  root.append(h('h1', {}, 'Jobs'), list);
  const render = () => {
    const jobs = [...state.jobs.values()].sort((a, b) => b.createdUnixMs - a.createdUnixMs);
    list.replaceChildren(...(jobs.length ? jobs.map(jobCard) : [h('p', { class: 'empty' }, 'No jobs yet: submit one with ', h('code', {}, 'syncline submit examples/mnist-mlp.json'))]));
  };
  render();
  return { onJob: render, onWorkers() {}, onMetrics() {}, destroy() {} };
}

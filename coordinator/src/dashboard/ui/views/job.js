// One job: live loss, accuracy and throughput curves with its membership changes marked, the
// held-out result, each rank's speed and share, the step timeline when recorded, the event log
// and the published model.
import { getJson } from '../api.js';
import { lineChart } from '../charts.js';
import { ago, duration, h, num, progressBar, stateBadge } from '../dom.js';

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

function point(m, atUnixMs) {
  return {
    step: m.step ?? 0,
    loss: m.loss ?? 0,
    accuracy: m.accuracy ?? 0,
    mae: m.mae ?? 0,
    generatorLoss: m.generatorLoss ?? 0,
    samplesPerSecond: m.samplesPerSecond ?? 0,
    commFraction: m.commFraction ?? 0,
    shares: m.shares ?? [],
    rankSamplesPerSecond: m.rankSamplesPerSecond ?? [],
    // Held-out values only where rank 0 evaluated (epoch ends); null elsewhere.
    heldout: m.heldoutExamples ? { loss: m.heldoutLoss ?? 0, accuracy: m.heldoutAccuracy ?? 0, mae: m.heldoutMae ?? 0, generatorLoss: m.heldoutGeneratorLoss ?? 0 } : null,
    atUnixMs,
  };
}

function header(summary) {
  return h(
    'section',
    { class: 'panel job-header' },
    h('div', { class: 'row' }, h('h1', {}, summary.name), stateBadge(summary.state), h('span', { class: 'muted id' }, summary.id)),
    progressBar(summary.progress, summary.state),
    h(
      'dl',
      { class: 'facts grid' },
      h('div', {}, h('dt', {}, 'Step'), h('dd', { id: 'job-step' }, `${summary.step} / ${summary.totalSteps}`)),
      h('div', {}, h('dt', {}, 'ETA'), h('dd', {}, summary.state === 'running' ? duration(summary.etaSeconds) : '–')),
      h('div', {}, h('dt', {}, 'Generation'), h('dd', {}, `${summary.generation} (${summary.membershipChanges} membership change${summary.membershipChanges === 1 ? '' : 's'})`)),
      h('div', {}, h('dt', {}, 'Workers'), h('dd', {}, summary.workers.length ? summary.workers.join(', ') : '–')),
      h('div', {}, h('dt', {}, 'Samples/s'), h('dd', {}, summary.samplesPerSecond ? Math.round(summary.samplesPerSecond).toLocaleString('en') : '–')),
      h('div', {}, h('dt', {}, 'Updated'), h('dd', {}, ago(summary.updatedUnixMs))),
    ),
    summary.error && h('div', { class: `reason ${summary.state}`, id: 'job-reason' }, summary.error),
  );
}

function ranks(last, workers) {
  if (!last || last.rankSamplesPerSecond.length === 0) return h('p', { class: 'muted' }, 'No step reported yet.');
  const fastest = Math.max(...last.rankSamplesPerSecond, 1);
  const total = last.shares.reduce((a, b) => a + b, 0) || 1;
  return h(
    'table',
    { class: 'ranks' },
    h('thead', {}, h('tr', {}, ['Rank', 'Worker', 'Speed', 'Share'].map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      last.rankSamplesPerSecond.map((speed, rank) =>
        h(
          'tr',
          {},
          h('td', { 'data-label': 'Rank' }, String(rank)),
          h('td', { 'data-label': 'Worker' }, workers[rank] ?? '?'),
          h('td', { 'data-label': 'Speed' }, h('div', { class: 'bar-cell' }, h('div', { class: 'bar', style: `width:${(100 * speed) / fastest}%` }), h('span', {}, `${Math.round(speed).toLocaleString('en')}/s`))),
          h('td', { 'data-label': 'Share' }, h('div', { class: 'bar-cell' }, h('div', { class: 'bar share', style: `width:${(100 * (last.shares[rank] ?? 0)) / total}%` }), h('span', {}, `${last.shares[rank] ?? 0} samples`))),
        ),
      ),
    ),
  );
}

function finalMetrics(job) {
  const r = job.result;
  if (!r) return undefined;
  const rows = [
    ['Held-out loss', num(r.loss ?? 0)],
    r.accuracy !== undefined && ['Held-out accuracy', num(r.accuracy)],
    r.mae !== undefined && ['Held-out MAE', num(r.mae)],
    ['Held-out examples', r.heldoutExamples ?? 0],
    ['Training loss (last epoch)', num(r.trainLoss ?? 0)],
    r.trainAccuracy !== undefined && ['Training accuracy (last epoch)', num(r.trainAccuracy)],
    ['Steps', r.steps ?? 0],
    ['Time', duration(r.seconds ?? 0)],
  ].filter(Boolean);
  return h('dl', { class: 'facts grid', id: 'final-metrics' }, rows.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, String(v)))));
}

function logList(entries) {
  const shown = entries.filter((e) => e.kind !== 'metrics');
  return h(
    'ol',
    { class: 'log', id: 'job-log' },
    shown.map((e) =>
      h(
        'li',
        { class: e.level ?? 'info' },
        h('time', {}, new Date(Number(e.unixMs)).toLocaleTimeString()),
        h('span', { class: 'kind' }, e.kind),
        h('span', { class: 'where' }, [e.generation ? `g${e.generation}` : '', (e.rank ?? -1) >= 0 || e.kind === 'rank_failed' ? `rank ${e.rank ?? 0}` : '', e.workerId ? `(${e.workerId})` : '', e.step ? `step ${e.step}` : ''].filter(Boolean).join(' ')),
        h('span', { class: 'message' }, e.message),
      ),
    ),
  );
}

/** The last few recorded steps of every rank as bars: where each step's time went. */
function timelineView(trace) {
  const spans = trace.traceEvents.filter((e) => e.ph === 'X');
  const names = new Map(trace.traceEvents.filter((e) => e.ph === 'M').map((e) => [e.pid, e.args?.name ?? `rank ${e.pid}`]));
  const lastStep = Math.max(...spans.map((e) => e.args?.step ?? 0));
  const shown = spans.filter((e) => (e.args?.step ?? 0) > lastStep - 3);
  if (shown.length === 0) return h('p', { class: 'muted' }, 'The timeline is empty.');
  const t0 = Math.min(...shown.map((e) => e.ts));
  const t1 = Math.max(...shown.map((e) => e.ts + e.dur));
  const ranks = [...new Set(shown.map((e) => e.pid))].sort((a, b) => a - b);
  const kinds = [...new Set(shown.map((e) => e.name))];
  return h(
    'div',
    { class: 'timeline' },
    ranks.map((pid) =>
      h(
        'div',
        { class: 'lane' },
        h('span', { class: 'lane-label' }, names.get(pid) ?? `rank ${pid}`),
        h(
          'div',
          { class: 'lane-bars' },
          shown
            .filter((e) => e.pid === pid)
            .map((e) => h('div', { class: `span k${kinds.indexOf(e.name) % 6}`, title: `step ${e.args?.step}: ${e.name} ${(e.dur / 1000).toFixed(1)} ms`, style: `left:${(100 * (e.ts - t0)) / (t1 - t0)}%;width:${Math.max(0.3, (100 * e.dur) / (t1 - t0))}%` })),
        ),
      ),
    ),
    h('div', { class: 'legend' }, kinds.map((k, i) => h('span', {}, h('i', { class: `k${i % 6}` }), k)), h('span', { class: 'muted' }, `last 3 steps, ${((t1 - t0) / 1000).toFixed(0)} ms`)),
  );
}

export async function jobView(root, id, state, rerender) {
  const data = await getJson(`api/jobs/${encodeURIComponent(id)}`);
  const job = data.job;
  let summary = state.jobs.get(id) ?? data.summary;
  const points = data.log.filter((e) => e.kind === 'metrics' && e.metrics).map((e) => point(e.metrics, Number(e.unixMs)));
  const markers = data.log.filter((e) => e.kind === 'generation').map((e) => ({ step: e.step ?? 0, label: `gen ${e.generation}` }));
  let generation = summary.generation;
  const result = job.result;
  const isGan = Boolean(job.spec?.gan);
  const hasAccuracy = points.some((p) => p.accuracy > 0 || (p.heldout?.accuracy ?? 0) > 0) || result?.accuracy !== undefined;

  const headerSlot = h('div', {}, header(summary));
  const charts = h('div', { class: 'charts' });
  const ranksSlot = h('div', {});
  root.append(
    h('a', { href: '#/jobs', class: 'back' }, '← all jobs'),
    headerSlot,
    h('section', { class: 'panel' }, h('h2', {}, 'Training'), charts, h('p', { class: 'note' }, 'Dots: held-out evaluations at the end of each epoch and the final one. Dashed orange lines: membership changes (new generation).')),
    h('section', { class: 'panel' }, h('h2', {}, 'Ranks (last step)'), ranksSlot),
  );
  const panel = (title, ...body) => h('div', { class: 'chart-panel' }, h('h3', {}, title), ...body);
  const lossBox = panel(isGan ? 'Loss (discriminator, generator)' : 'Loss');
  const accBox = panel(hasAccuracy ? 'Accuracy' : 'Mean absolute error');
  const speedBox = panel('Samples/s and communication share');
  charts.append(lossBox, accBox, speedBox);
  const lossChart = lineChart(lossBox, {
    yLabel: 'loss',
    series: isGan
      ? [{ label: 'discriminator' }, { label: 'generator' }, { label: 'held-out discriminator', points: true, color: '#2f9e6e' }, { label: 'held-out generator', points: true, color: '#9a4fd8' }]
      : [{ label: 'training' }, { label: 'held-out', points: true, color: '#2f9e6e' }],
    markers: () => markers,
  });
  const accChart = lineChart(accBox, {
    yLabel: hasAccuracy ? 'accuracy' : 'MAE',
    series: [
      { label: 'training', color: '#3b6fd8' },
      { label: 'held-out', points: true, color: '#2f9e6e' },
    ],
    markers: () => markers,
  });
  const speedChart = lineChart(speedBox, {
    yLabel: 'samples/s',
    series: [{ label: 'samples/s' }, { label: 'comm share', scale: 'y2', color: '#d8603b' }],
    markers: () => markers,
  });
  lossBox.dataset.points = '0';

  let pending = false;
  // The final evaluation ends the held-out curve at the last step.
  const finalPoint = () => (result && points.length ? { step: points.at(-1).step, heldout: { loss: result.loss ?? 0, accuracy: result.accuracy ?? 0, mae: result.mae ?? 0, generatorLoss: result.generatorLoss ?? 0 } } : undefined);
  const draw = () => {
    pending = false;
    const steps = points.map((p) => p.step);
    const end = finalPoint();
    const held = (key) => points.map((p, i) => (i === points.length - 1 && end ? end.heldout[key] : (p.heldout?.[key] ?? null)));
    lossChart.update(isGan ? [steps, points.map((p) => p.loss), points.map((p) => p.generatorLoss), held('loss'), held('generatorLoss')] : [steps, points.map((p) => p.loss), held('loss')]);
    accChart.update([steps, points.map((p) => (hasAccuracy ? p.accuracy : p.mae)), held(hasAccuracy ? 'accuracy' : 'mae')]);
    speedChart.update([steps, points.map((p) => p.samplesPerSecond), points.map((p) => p.commFraction)]);
    lossBox.dataset.points = String(points.length);
    accBox.dataset.heldout = String(held(hasAccuracy ? 'accuracy' : 'mae').filter((v) => v !== null).length);
    ranksSlot.replaceChildren(ranks(points.at(-1), summary.workers));
  };
  draw();

  if (ENDED.has(summary.state)) {
    const final = finalMetrics(job);
    const model = job.model;
    root.append(
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, 'Result'),
        final ?? h('p', { class: 'muted' }, 'No result: the job did not finish.'),
        model &&
          h('p', { id: 'job-model' }, 'Published as ', h('a', { href: `#/models/${encodeURIComponent(model.name)}` }, `${model.name} v${model.version}`), ' · ', h('a', { href: model.url, target: '_blank', rel: 'noopener' }, 'model.json')),
      ),
    );
  }
  if (job.spec?.training?.timeline) {
    const slot = h('div', {}, h('p', { class: 'muted' }, 'The ranks send their timelines when the job ends.'));
    root.append(h('section', { class: 'panel' }, h('h2', {}, 'Step timeline'), slot));
    if (ENDED.has(summary.state)) getJson(`api/jobs/${encodeURIComponent(id)}/timeline`).then((trace) => slot.replaceChildren(timelineView(trace)), (err) => slot.replaceChildren(h('p', { class: 'muted' }, err.message)));
  }
  root.append(h('section', { class: 'panel' }, h('h2', {}, 'Events'), logList(data.log)));

  return {
    onMetrics(jobId, m, atUnixMs) {
      if (jobId !== id) return;
      const p = point(m, atUnixMs);
      // A new generation may repeat steps from its checkpoint: keep the curve monotonic in step.
      while (points.length && points.at(-1).step >= p.step) points.pop();
      points.push(p);
      if (!pending) {
        pending = true;
        requestAnimationFrame(draw);
      }
    },
    onJob(s) {
      if (s.id !== id) return;
      if (s.generation !== generation && generation > 0 && s.generation > 0) markers.push({ step: points.at(-1)?.step ?? s.step, label: `gen ${s.generation}` });
      generation = s.generation;
      const ended = ENDED.has(s.state) && !ENDED.has(summary.state);
      summary = s;
      headerSlot.replaceChildren(header(s));
      if (ended) rerender();
    },
    onWorkers() {},
    destroy() {
      lossChart.destroy();
      accChart.destroy();
      speedChart.destroy();
    },
  };
}

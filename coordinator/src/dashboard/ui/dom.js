// Building DOM without HTML strings (names and errors come from users and workers), and the
// few formats every view uses.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function ago(unixMs) {
  return `${duration(Math.max(0, (Date.now() - unixMs) / 1000))} ago`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

export function num(x, digits = 4) {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : Number(x).toPrecision(digits);
}

export function stateBadge(state) {
  return h('span', { class: `badge ${state}` }, state);
}

export function progressBar(fraction, state) {
  return h('div', { class: `progress ${state}`, role: 'progressbar', 'aria-valuenow': Math.round(fraction * 100) }, h('div', { style: `width:${(fraction * 100).toFixed(1)}%` }));
}

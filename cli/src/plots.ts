// Pictures of results: training curves as SVG (text and axes without a plotting stack), and
// image grids (generated digits) as PNG.
import { PNG } from 'pngjs';

export interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A line chart with axes, ticks and a legend. */
export function lineChartSvg(title: string, xLabel: string, yLabel: string, series: Series[], opts: { logY?: boolean } = {}): string {
  const W = 640;
  const H = 360;
  const m = { left: 64, right: 16, top: 36, bottom: 44 };
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
  const ty = (y: number) => (opts.logY ? Math.log10(y) : y);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => ty(y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - ((ty(y) - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${m.left}" y1="${H - m.bottom}" x2="${W - m.right}" y2="${H - m.bottom}" stroke="black"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${H - m.bottom}" stroke="black"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="14" y="${H / 2}" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">${esc(yLabel)}${opts.logY ? ' (log)' : ''}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const vy = y0 + ((y1 - y0) * i) / 4;
    const y = H - m.bottom - ((vy - y0) / (y1 - y0)) * (H - m.top - m.bottom);
    const value = opts.logY ? 10 ** vy : vy;
    parts.push(`<line x1="${m.left - 4}" y1="${y}" x2="${W - m.right}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y + 4}" text-anchor="end">${value.toPrecision(3)}</text>`);
    const vx = x0 + ((x1 - x0) * i) / 4;
    parts.push(`<text x="${px(vx)}" y="${H - m.bottom + 16}" text-anchor="middle">${Math.round(vx)}</text>`);
  }
  series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
    if (pts.length) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    parts.push(`<rect x="${W - m.right - 170}" y="${m.top + 6 + i * 18}" width="12" height="3" fill="${s.color}"/>`);
    parts.push(`<text x="${W - m.right - 152}" y="${m.top + 11 + i * 18}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** A grid of grayscale images (values in [0, 1]) as PNG bytes, each scaled up by `scale`. */
export function imageGridPng(images: Float32Array[], side: number, columns: number, scale = 2): Buffer {
  const rows = Math.ceil(images.length / columns);
  const pad = 2;
  const cell = side * scale + pad;
  const png = new PNG({ width: columns * cell + pad, height: rows * cell + pad });
  png.data.fill(255);
  images.forEach((img, i) => {
    const ox = (i % columns) * cell + pad;
    const oy = Math.floor(i / columns) * cell + pad;
    for (let y = 0; y < side * scale; y++) {
      for (let x = 0; x < side * scale; x++) {
        const v = img[Math.floor(y / scale) * side + Math.floor(x / scale)]!;
        const g = Math.round(255 * (1 - Math.min(1, Math.max(0, v))));
        const at = ((oy + y) * png.width + ox + x) * 4;
        png.data[at] = png.data[at + 1] = png.data[at + 2] = g;
        png.data[at + 3] = 255;
      }
    }
  });
  return PNG.sync.write(png);
}

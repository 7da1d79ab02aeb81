// Step-indexed line charts on uPlot: sized to their box (and resized with it, for phones),
// with vertical markers where the job's membership changed. A series with `points` is sparse
// (held-out evaluations): drawn as dots joined across the steps without a value.
const COLORS = ['#3b6fd8', '#d8603b', '#2f9e6e', '#9a4fd8', '#c9a227', '#d83b8a'];

export function lineChart(el, { series, yLabel, height = 200, markers = () => [] }) {
  const box = document.createElement('div');
  box.className = 'chart';
  el.append(box);
  const drawMarkers = (u) => {
    const ctx = u.ctx;
    ctx.save();
    ctx.lineWidth = 1.5 * devicePixelRatio;
    for (const m of markers()) {
      const x = u.valToPos(m.step, 'x', true);
      if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) continue;
      ctx.strokeStyle = '#e08a00';
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = '#b06d00';
      ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
      ctx.fillText(m.label, x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
    }
    ctx.restore();
  };
  const scales = { x: { time: false } };
  const axes = [{ label: 'step', size: 36, labelSize: 14 }, { label: yLabel, size: 50, labelSize: 14 }];
  if (series.some((s) => s.scale === 'y2')) {
    scales.y2 = { range: [0, 1] };
    axes.push({ scale: 'y2', side: 1, grid: { show: false }, size: 40 });
  }
  const opts = {
    width: Math.max(200, box.clientWidth),
    height,
    scales,
    axes,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    series: [{ label: 'step' }, ...series.map((s, i) => ({
      label: s.label,
      stroke: s.color ?? COLORS[i % COLORS.length],
      width: s.points ? 2 : 1.5,
      scale: s.scale ?? 'y',
      spanGaps: Boolean(s.points),
      points: s.points ? { show: true, size: 7, fill: s.color ?? COLORS[i % COLORS.length] } : { show: false },
    }))],
    hooks: { draw: [drawMarkers] },
  };
  const plot = new uPlot(opts, [[], ...series.map(() => [])], box);
  const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, box.clientWidth), height }));
  resize.observe(box);
  return {
    /** `columns`: [steps, values of series 1, ...]. */
    update(columns) {
      plot.setData(columns);
    },
    redraw() {
      plot.redraw(false);
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}

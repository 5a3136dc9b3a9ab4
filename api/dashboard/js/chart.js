// Hand-drawn SVG charts: a line chart for money over time and a lane chart for ranks over time. Each is an
// <svg role="img"> with a title and a text description; the numbers are also in a table next to it.

const NS = 'http://www.w3.org/2000/svg';
// Drawn at the size they are shown at most (CSS never scales them up), so text stays at its font size.
const W = 900;
const H = 240;
const PAD = { left: 64, right: 16, top: 16, bottom: 36 };

function s(tag, attrs = {}, text) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

function frame(title, description, height = H) {
  const id = `chart-${Math.random().toString(36).slice(2, 9)}`;
  const svg = s('svg', { viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'chart' });
  svg.append(s('title', { id: `${id}-t` }, title), s('desc', { id: `${id}-d` }, description));
  return svg;
}

/** Times of day for a span under a day; dates and hours beyond. */
const timeLabel = (ms, spanMs = 0) => (spanMs > 20 * 3600_000
  ? new Date(ms).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit' })
  : new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }));

function axes(svg, x0, x1, yMax, yFormat) {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  svg.append(s('line', { x1: PAD.left, y1: PAD.top + plotH, x2: PAD.left + plotW, y2: PAD.top + plotH, class: 'axis' }));
  svg.append(s('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: PAD.top + plotH, class: 'axis' }));
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    svg.append(s('line', { x1: PAD.left, y1: y, x2: PAD.left + plotW, y2: y, class: 'grid' }));
    svg.append(s('text', { x: PAD.left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, yFormat((yMax * i) / 4)));
  }
  for (let i = 0; i <= 3; i++) {
    const x = PAD.left + (plotW * i) / 3;
    svg.append(s('text', { x, y: H - 12, 'text-anchor': 'middle', class: 'tick' }, timeLabel(x0 + ((x1 - x0) * i) / 3, x1 - x0)));
  }
  return {
    x: (t) => PAD.left + (x1 === x0 ? plotW / 2 : ((t - x0) / (x1 - x0)) * plotW),
    y: (v) => PAD.top + plotH - (yMax === 0 ? 0 : (v / yMax) * plotH),
  };
}

/**
 * series: [{ name, points: [{ t: ms, v: number }], kind?: 'line'|'step', className }]; lines: horizontal
 * references [{ name, v, className }]. A legend names every series and line.
 */
export function lineChart({ title, description, series, lines = [], yFormat = (v) => v.toFixed(2), minSpanMs = 60_000 }) {
  const svg = frame(title, description);
  const all = series.flatMap((entry) => entry.points);
  const times = all.map((p) => p.t);
  let x0 = times.length ? Math.min(...times) : Date.now() - minSpanMs;
  let x1 = times.length ? Math.max(...times) : Date.now();
  // One point (or a burst) still gets a readable axis: the span widens around it.
  if (x1 - x0 < minSpanMs) {
    const middle = (x0 + x1) / 2;
    x0 = middle - minSpanMs / 2;
    x1 = middle + minSpanMs / 2;
  }
  const yMax = Math.max(1e-6, ...all.map((p) => p.v), ...lines.map((l) => l.v)) * 1.1;
  const scale = axes(svg, x0, x1, yMax, yFormat);
  for (const line of lines) {
    svg.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: scale.y(line.v), y2: scale.y(line.v), class: `ref ${line.className}` }));
  }
  for (const entry of series) {
    if (entry.points.length === 0) continue;
    let d = '';
    entry.points.forEach((p, i) => {
      const x = scale.x(p.t);
      const y = scale.y(p.v);
      if (i === 0) d = `M${x},${y}`;
      else d += entry.kind === 'step' ? `H${x}V${y}` : `L${x},${y}`;
    });
    svg.append(s('path', { d, class: `series ${entry.className}` }));
    for (const p of entry.points) svg.append(s('circle', { cx: scale.x(p.t), cy: scale.y(p.v), r: 2.5, class: `dot ${entry.className}` }));
  }
  return legendWrap(svg, [...series, ...lines]);
}

function legendWrap(svg, entries) {
  const figure = document.createElement('figure');
  figure.className = 'chart-figure';
  const legend = document.createElement('ul');
  legend.className = 'legend';
  for (const entry of entries) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = `swatch ${entry.className}`;
    swatch.setAttribute('aria-hidden', 'true');
    item.append(swatch, document.createTextNode(entry.name));
    legend.append(item);
  }
  figure.append(svg, legend);
  return figure;
}

/**
 * Ranks over time: one lane per rank, one bar per assignment (epoch), ended bars marked with their reason.
 * bars: [{ rank, epoch, start: ms, end: ms|null, label, ended: boolean }]
 */
export function laneChart({ title, description, bars, now = Date.now() }) {
  const ranks = [...new Set(bars.map((b) => b.rank))].sort((a, b) => a - b);
  // 40 px a rank: a one-GPU lease gets a slim lane, a 64-GPU one a tall chart.
  const height = PAD.top + PAD.bottom + 40 * Math.max(1, ranks.length);
  const svg = frame(title, description, height);
  const x0 = bars.length ? Math.min(...bars.map((b) => b.start)) : now - 60_000;
  const x1 = Math.max(now, x0 + 1000, ...bars.map((b) => b.end ?? now));
  const plotW = W - PAD.left - PAD.right;
  const lane = 40;
  const x = (t) => PAD.left + ((t - x0) / (x1 - x0)) * plotW;
  for (let i = 0; i <= 3; i++) {
    const t = x0 + ((x1 - x0) * i) / 3;
    svg.append(s('text', { x: x(t), y: height - 12, 'text-anchor': 'middle', class: 'tick' }, timeLabel(t, x1 - x0)));
  }
  ranks.forEach((rank, i) => {
    const top = PAD.top + i * lane;
    svg.append(s('text', { x: PAD.left - 6, y: top + lane / 2 + 4, 'text-anchor': 'end', class: 'tick' }, `rank ${rank}`));
    for (const bar of bars.filter((b) => b.rank === rank)) {
      const left = x(bar.start);
      const width = Math.max(2, x(bar.end ?? now) - left);
      const rect = s('rect', { x: left, y: top + 4, width, height: Math.max(6, lane - 8), rx: 3,
        class: bar.ended ? 'bar ended' : 'bar live' });
      rect.append(s('title', {}, bar.label));
      svg.append(rect);
      if (width > 40) svg.append(s('text', { x: left + 4, y: top + lane / 2 + 4, class: 'bar-label' }, `epoch ${bar.epoch}`));
    }
  });
  return legendWrap(svg, [{ name: 'running assignment', className: 'live' }, { name: 'ended (failed over or closed)', className: 'ended' }]);
}

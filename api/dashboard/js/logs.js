// A lease's container logs: the stored lines (GET /v1/leases/:id/logs), then live ones as server-sent
// `log` events (follow=true), across ranks and failovers; each line says its rank and epoch.
import { api, ApiError, follow } from './api.js';
import { h } from './dom.js';

// The page keeps the newest lines only: a chatty job must not grow the tab without bound.
const MAX_LINES = 2000;

export function logsPanel(lease) {
  const output = h('pre', { id: 'logs', class: 'logs', role: 'log', 'aria-live': 'polite', 'aria-label': 'Container output', tabindex: '0' });
  const note = h('p', { class: 'help', id: 'logs-note' });
  const rank = h('select', { id: 'logs-rank', name: 'rank' }, h('option', { value: '' }, 'all ranks'),
    Array.from({ length: lease.gpuCount }, (_, r) => h('option', { value: r }, `rank ${r}`)));
  const element = h('section', { 'aria-labelledby': 'logs-title' },
    h('h4', { id: 'logs-title' }, 'Logs'),
    h('div', { class: 'inline' }, h('label', { for: 'logs-rank' }, 'Show'), rank),
    note, output);
  const seen = new Set();
  let controller;

  const append = (line) => {
    const key = `${line.seq}`;
    if (seen.has(key)) return;
    seen.add(key);
    output.append(h('span', { class: `line ${line.stream}`, 'data-rank': line.rank },
      h('span', { class: 'prefix' }, `[rank ${line.rank} · epoch ${line.epoch}${line.stream === 'stderr' ? ' · stderr' : ''}] `),
      line.text, '\n'));
    while (output.childNodes.length > MAX_LINES) output.firstChild.remove();
    output.scrollTop = output.scrollHeight;
  };

  async function start() {
    controller?.abort();
    controller = new AbortController();
    output.replaceChildren();
    seen.clear();
    note.textContent = 'Loading…';
    const filter = rank.value === '' ? '' : `&rank=${rank.value}`;
    try {
      const page = await api('GET', `/v1/leases/${lease.id}/logs?since=0${filter}`);
      page.lines.forEach(append);
      note.textContent = page.lines.length === 0 ? 'No output yet; new lines appear as the containers write them.' : '';
      await follow(`/v1/leases/${lease.id}/logs?follow=true&since=${page.next}${filter}`, (kind, data) => {
        if (kind === 'log') {
          note.textContent = '';
          append(data);
        } else if (kind === 'end') note.textContent = 'The lease has ended: these are all its lines.';
      }, { signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) return;
      note.textContent = error instanceof ApiError && error.status === 404 && /no route/.test(error.message)
        ? 'This API does not serve container logs.'
        : `Logs unavailable: ${error.message}`;
    }
  }

  rank.addEventListener('change', () => void start());
  void start();
  return { leaseId: lease.id, element, stop: () => controller?.abort() };
}

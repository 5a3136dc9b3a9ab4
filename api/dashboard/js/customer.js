// The customer's view: its leases kept current by their event streams, one lease in detail (ranks, a
// failover timeline, cost against deposit, settlements, logs), and forms to create, extend and cancel.
import { api, ApiError, follow } from './api.js';
import { badge, h, say, shortId, table, time } from './dom.js';
import { laneChart, lineChart } from './chart.js';
import { logsPanel } from './logs.js';

const TERMINAL = new Set(['closed', 'cancelled', 'failed']);
// Browsers open at most 6 HTTP/1.1 connections per origin, and each stream holds one: the selected lease
// and the newest unfinished ones are followed live, the rest are refreshed by a slower poll of the list.
const MAX_LIVE_STREAMS = 3;
const LIST_POLL_MS = 5000;
// Provider names by id, from the public GET /v1/providers/:id (assignments carry only the id).
const providerNames = new Map();

async function learnProviderNames(lease) {
  const unknown = [...new Set(lease.assignments.map((a) => a.providerId))].filter((id) => !providerNames.has(id));
  await Promise.all(unknown.map((id) => api('GET', `/v1/providers/${encodeURIComponent(id)}`)
    .then((provider) => providerNames.set(id, provider.name), () => {})));
}

export function customerView(root) {
  const leases = new Map();
  const events = new Map();
  const streams = new Map();
  let selected = null;
  let logs = null;
  // Kept across redraws (each event redraws the detail) so that a half-typed extension survives.
  let controls = null;
  let stopped = false;

  const listBox = h('div', { id: 'lease-list' });
  const detailBox = h('section', { id: 'lease-detail', 'aria-labelledby': 'lease-detail-title', hidden: true });
  root.replaceChildren(
    h('h2', {}, 'Your leases'),
    createForm(async (lease) => {
      leases.set(lease.id, lease);
      renderList();
      await select(lease.id);
    }),
    h('section', { 'aria-labelledby': 'leases-title' }, h('h3', { id: 'leases-title' }, 'Leases'), listBox),
    detailBox,
  );

  function renderList() {
    const rows = [...leases.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    listBox.replaceChildren(table('Your leases, newest first; updated live', [
      { label: 'Lease', header: true, value: (l) => h('button', {
        type: 'button', class: 'link', 'aria-pressed': String(l.id === selected), 'aria-controls': 'lease-detail',
        'aria-label': `Show lease ${l.id}`, onclick: () => void select(l.id),
      }, shortId(l.id)) },
      { label: 'Status', value: (l) => h('span', { 'data-lease-status': l.id }, badge(l.status)) },
      { label: 'GPUs', value: (l) => `${l.gpuCount} × ${l.gpuModel} (tier ≤ ${l.minTier})` },
      { label: 'Failovers', numeric: true, value: (l) => l.failoverCount },
      { label: 'Created', value: (l) => time(l.createdAt) },
      { label: 'Ends', value: (l) => time(l.endedAt ?? l.endsAt) },
    ], rows, { rowAttrs: (l) => ({ 'data-lease-id': l.id, class: l.id === selected ? 'selected' : undefined }) }));
    watchLive();
  }

  /** Keeps a stream open for the selected lease and the newest unfinished ones, and only those. */
  function watchLive() {
    const wanted = [...leases.values()]
      .filter((l) => !TERMINAL.has(l.status) || l.id === selected)
      .sort((a, b) => (a.id === selected ? -1 : b.id === selected ? 1 : b.createdAt.localeCompare(a.createdAt)))
      .slice(0, MAX_LIVE_STREAMS)
      .map((l) => l.id);
    for (const [id, controller] of streams) {
      if (!wanted.includes(id)) {
        controller.abort();
        streams.delete(id);
      }
    }
    for (const id of wanted) if (!streams.has(id)) stream(id);
  }

  function stream(id) {
    const controller = new AbortController();
    streams.set(id, controller);
    events.set(id, []);
    let refresh;
    follow(`/v1/leases/${id}/events`, (kind, data, eventId) => {
      if (kind !== 'end') events.get(id)?.push({ id: eventId, kind, at: data.at, data: data.data ?? data });
      // A burst of events (a whole start-up) is one refresh of the lease.
      clearTimeout(refresh);
      refresh = setTimeout(() => void refreshLease(id), 150);
    }, { signal: controller.signal }).catch((error) => say(`Live updates for lease ${shortId(id)} stopped: ${error.message}`));
  }

  async function refreshLease(id) {
    if (stopped) return;
    try {
      const lease = await api('GET', `/v1/leases/${id}`);
      leases.set(id, lease);
      renderList();
      if (id === selected) await renderDetail(lease);
    } catch (error) {
      say(`Could not refresh lease ${shortId(id)}: ${error.message}`);
    }
  }

  async function select(id) {
    selected = id;
    logs?.stop();
    logs = null;
    renderList();
    const lease = await api('GET', `/v1/leases/${id}`);
    leases.set(id, lease);
    await renderDetail(lease);
    detailBox.querySelector('h3')?.focus();
  }

  async function renderDetail(lease) {
    const [settlements] = await Promise.all([api('GET', `/v1/leases/${lease.id}/settlements`).catch(() => []), learnProviderNames(lease)]);
    const seen = events.get(lease.id) ?? [];
    const finished = TERMINAL.has(lease.status);
    if (!logs || logs.leaseId !== lease.id) {
      logs?.stop();
      logs = logsPanel(lease);
    }
    if (controls?.leaseId !== lease.id) controls = { leaseId: lease.id, element: actions(lease, refreshLease) };
    detailBox.hidden = false;
    detailBox.replaceChildren(...[
      h('h3', { id: 'lease-detail-title', tabindex: '-1' }, `Lease ${lease.id}`),
      summary(lease),
      finished ? null : controls.element,
      h('section', { 'aria-labelledby': 'ranks-title' }, h('h4', { id: 'ranks-title' }, 'Ranks'), ranksTable(lease)),
      h('section', { 'aria-labelledby': 'timeline-title' }, h('h4', { id: 'timeline-title' }, 'Failover timeline'), timeline(lease, seen)),
      h('section', { 'aria-labelledby': 'cost-title' }, h('h4', { id: 'cost-title' }, 'Cost so far against the deposit'), cost(lease, seen)),
      h('section', { 'aria-labelledby': 'settlements-title' }, h('h4', { id: 'settlements-title' }, 'Settlements'),
        settlementsTable(settlements)),
      logs.element,
    ].filter(Boolean));
  }

  async function loadList() {
    try {
      for (const lease of await api('GET', '/v1/leases')) {
        const known = leases.get(lease.id);
        // The list omits the escrow; keep the detail's copy of it.
        leases.set(lease.id, { ...known, ...lease });
      }
      renderList();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) say('Your key is no longer accepted: sign in again.');
      else say(`Could not load your leases: ${error.message}`);
    }
  }

  void loadList();
  const poll = setInterval(() => void loadList(), LIST_POLL_MS);
  return {
    stop() {
      stopped = true;
      clearInterval(poll);
      for (const controller of streams.values()) controller.abort();
      logs?.stop();
    },
  };
}

function createForm(onCreated) {
  const error = h('p', { class: 'error', role: 'alert' });
  const field = (id, label, input, help) => h('div', { class: 'field' },
    h('label', { for: id }, label), input, help ? h('p', { class: 'help', id: `${id}-help` }, help) : null);
  const models = h('datalist', { id: 'gpu-models' });
  api('GET', '/v1/offers').then((offers) => {
    for (const model of [...new Set(offers.map((o) => o.gpuModel))]) models.append(h('option', { value: model }));
  }).catch(() => {});
  const form = h('form', { id: 'create-lease', class: 'card grid' },
    field('gpuModel', 'GPU model', h('input', { id: 'gpuModel', name: 'gpuModel', list: 'gpu-models', required: true, value: 'H100' })),
    models,
    field('gpuCount', 'GPUs', h('input', { id: 'gpuCount', name: 'gpuCount', type: 'number', min: 1, max: 64, value: 1, required: true })),
    field('minTier', 'Worst tier accepted', h('select', { id: 'minTier', name: 'minTier' },
      h('option', { value: 1 }, '1 (best)'), h('option', { value: 2 }, '2'), h('option', { value: 3, selected: true }, '3'))),
    field('maxPricePerGpuHour', 'Max price per GPU-hour', h('input', { id: 'maxPricePerGpuHour', name: 'maxPricePerGpuHour',
      inputmode: 'decimal', value: '5', required: true, pattern: '\\d+(\\.\\d{1,6})?' })),
    field('durationSeconds', 'Duration (seconds)', h('input', { id: 'durationSeconds', name: 'durationSeconds', type: 'number',
      min: 60, value: 600, 'aria-describedby': 'durationSeconds-help' }),
    'Leave empty to run until you cancel or your allowance runs out.'),
    field('image', 'Container image', h('input', { id: 'image', name: 'image', value: 'lease-engine/busybox:local', required: true })),
    field('command', 'Command (run with sh -c)', h('input', { id: 'command', name: 'command',
      value: 'while true; do echo "rank $LEASE_RANK epoch $LEASE_EPOCH alive"; sleep 1; done', 'aria-describedby': 'command-help' }),
    'Leave empty to run the image’s own command.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create lease')),
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const data = new FormData(form);
    const command = String(data.get('command') ?? '').trim();
    const request = {
      gpuModel: String(data.get('gpuModel')).trim(),
      gpuCount: Number(data.get('gpuCount')),
      minTier: Number(data.get('minTier')),
      maxPricePerGpuHour: String(data.get('maxPricePerGpuHour')).trim(),
      ...(String(data.get('durationSeconds') ?? '').trim() ? { durationSeconds: Number(data.get('durationSeconds')) } : {}),
      image: String(data.get('image')).trim(),
      ...(command ? { command: ['sh', '-c', command] } : {}),
    };
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const lease = await api('POST', '/v1/leases', request, { 'idempotency-key': crypto.randomUUID() });
      say(`Lease ${shortId(lease.id)} created: ${lease.status}.`);
      await onCreated(lease);
    } catch (failure) {
      const fields = failure.problem?.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
      error.textContent = fields ? `${failure.message} (${fields})` : failure.message;
    } finally {
      button.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'create-title' }, h('h3', { id: 'create-title' }, 'New lease'), form);
}

function summary(lease) {
  const row = (term, value) => [h('dt', {}, term), h('dd', {}, value)];
  return h('dl', { class: 'summary' },
    row('Status', h('span', { id: 'detail-status' }, badge(lease.status), lease.endReason ? ` — ${lease.endReason}` : '')),
    row('GPUs', `${lease.gpuCount} × ${lease.gpuModel}, tier ${lease.minTier} or better, at most ${lease.maxPricePerGpuHour} per GPU-hour`),
    row('Image', lease.image),
    row('Started', time(lease.startedAt)),
    row('Ends', lease.endedAt || lease.endsAt ? time(lease.endedAt ?? lease.endsAt) : 'when cancelled or when the allowance runs out'),
    row('Escrow', lease.escrow ? h('code', { title: 'The Lease account on-chain' }, lease.escrow.address) : 'not opened yet'),
    ...(lease.escrow ? [row('Funded', `${lease.escrow.fundedSeconds} s drawn from your allowance so far (${lease.escrow.deposited} deposited)`)] : []),
  );
}

function actions(lease, refresh) {
  const error = h('p', { class: 'error', role: 'alert' });
  const seconds = h('input', { id: 'extend-seconds', name: 'seconds', type: 'number', min: 1, value: 600, required: true });
  const extend = h('form', { class: 'inline', 'aria-label': 'Extend the lease' },
    h('label', { for: 'extend-seconds' }, 'Extend by (seconds)'), seconds, h('button', { type: 'submit' }, 'Extend'));
  extend.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      await api('POST', `/v1/leases/${lease.id}/extend`, { seconds: Number(seconds.value) });
      say(`Lease ${shortId(lease.id)} extended by ${seconds.value} s.`);
      await refresh(lease.id);
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  const cancel = h('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!window.confirm(`Cancel lease ${lease.id}? Its containers stop and the unused deposit is refunded.`)) return;
    error.textContent = '';
    try {
      const answer = await api('POST', `/v1/leases/${lease.id}/cancel`);
      say(`Lease ${shortId(lease.id)}: ${answer.status}.`);
      await refresh(lease.id);
    } catch (failure) {
      error.textContent = failure.message;
    }
  } }, 'Cancel lease');
  return h('div', { class: 'actions card' }, extend, cancel, error);
}

function ranksTable(lease) {
  const rows = [...lease.assignments].sort((a, b) => a.rank - b.rank || b.epoch - a.epoch);
  return table('Each rank’s assignments, the current one first', [
    { label: 'Rank', header: true, numeric: true, value: (a) => a.rank },
    { label: 'Epoch', numeric: true, value: (a) => a.epoch },
    { label: 'Provider', value: (a) => (providerNames.has(a.providerId)
      ? h('span', { title: a.providerId }, providerNames.get(a.providerId))
      : h('code', {}, a.providerId)) },
    { label: 'Host', value: (a) => a.hostId },
    { label: 'Tier', numeric: true, value: (a) => a.tier },
    { label: 'Price / GPU-h', numeric: true, value: (a) => a.pricePerGpuHour },
    { label: 'Started', value: (a) => time(a.startedAt) },
    { label: 'State', value: (a) => (a.endedAt ? badge(`ended: ${a.endReason ?? 'unknown'}`, 'ended') : badge('live')) },
  ], rows);
}

const describe = (event) => {
  const d = event.data ?? {};
  switch (event.kind) {
    case 'status': return `Lease ${d.status}${d.endReason ? ` (${d.endReason})` : ''}`;
    case 'placed': return `Rank ${d.rank} placed on host ${d.hostId} (provider ${d.providerId}, tier ${d.tier}), epoch ${d.epoch}`;
    case 'running': return `Rank ${d.rank} running, epoch ${d.epoch}`;
    case 'ended': return `Rank ${d.rank} epoch ${d.epoch} ended: ${d.reason}`;
    case 'escrow': return `Escrow opened on-chain: ${d.deposited} deposited`;
    case 'settlement': return `Period ${d.period} settled (${d.kind}): ${d.gross} paid${d.topUp && d.topUp !== '0' ? `, deposit topped up by ${d.topUp}` : ''}`;
    case 'warning': return `Warning: ${d.message}`;
    default: return `${event.kind}`;
  }
};

function timeline(lease, seen) {
  const now = Date.now();
  const bars = lease.assignments.map((a) => ({
    rank: a.rank, epoch: a.epoch, start: Date.parse(a.startedAt), end: a.endedAt ? Date.parse(a.endedAt) : null, ended: Boolean(a.endedAt),
    label: `rank ${a.rank}, epoch ${a.epoch} on ${a.hostId}${a.endedAt ? `, ended: ${a.endReason}` : ''}`,
  }));
  const failovers = seen.filter((e) => e.kind === 'ended' && e.data?.reason !== 'lease_cancelled' && e.data?.reason !== 'lease_closed');
  return h('div', {},
    laneChart({ title: 'Ranks over time', now,
      description: `${bars.length} assignments over ${new Set(bars.map((b) => b.rank)).size} ranks; ${lease.failoverCount} failovers.`, bars }),
    h('p', {}, `${lease.failoverCount} failover${lease.failoverCount === 1 ? '' : 's'}${failovers.length ? '; most recent below' : ''}.`),
    h('ol', { class: 'events', 'aria-label': 'Lease events, oldest first' },
      seen.filter((e) => e.kind !== 'settlement').map((e) => h('li', { 'data-kind': e.kind }, time(e.at), ' ', describe(e)))),
  );
}

function cost(lease, seen) {
  const deposit = Number(lease.escrow?.deposited ?? 0);
  const paid = lease.escrow ? Number(lease.escrow.paidToProviders) + Number(lease.escrow.fees) + Number(lease.escrow.burned) : 0;
  let total = 0;
  const points = [];
  const opened = seen.find((e) => e.kind === 'escrow');
  if (opened) points.push({ t: Date.parse(opened.at), v: 0 });
  for (const e of seen.filter((x) => x.kind === 'settlement' && x.data?.kind !== undefined)) {
    total += Number(e.data.gross ?? 0);
    points.push({ t: Date.parse(e.at), v: total });
  }
  if (points.length > 0 && !TERMINAL.has(lease.status)) points.push({ t: Date.now(), v: total });
  const share = deposit > 0 ? Math.min(100, (paid / deposit) * 100) : 0;
  return h('div', {},
    h('p', {}, `Settled so far: ${paid.toFixed(6).replace(/\.?0+$/, '')} of a ${lease.escrow?.deposited ?? '0'} deposit`,
      lease.escrow ? ` (refunded ${lease.escrow.refunded}).` : ' (the escrow is not open yet).'),
    h('label', { for: 'cost-meter', class: 'sr-only' }, 'Share of the deposit settled'),
    h('meter', { id: 'cost-meter', min: 0, max: 100, value: share.toFixed(1) }, `${share.toFixed(1)}%`),
    lineChart({
      title: 'Cost so far against the deposit',
      description: `Cumulative settled cost ${total} against a deposit of ${deposit}.`,
      series: [{ name: 'settled cost (cumulative)', points, kind: 'step', className: 'cost' }],
      lines: deposit > 0 ? [{ name: 'deposit', v: deposit, className: 'deposit' }] : [],
      yFormat: (v) => v.toFixed(v < 1 ? 4 : 2),
    }),
  );
}

function settlementsTable(settlements) {
  return table('Confirmed settlements, oldest first, with their on-chain signatures', [
    { label: 'Period', header: true, numeric: true, value: (s) => s.period },
    { label: 'Kind', value: (s) => s.kind },
    { label: 'Paid', numeric: true, value: (s) => s.gross },
    { label: 'Fee', numeric: true, value: (s) => s.fee },
    { label: 'Burned', numeric: true, value: (s) => s.burned },
    { label: 'Refunded', numeric: true, value: (s) => s.refunded },
    { label: 'Signature', value: (s) => h('code', { class: 'signature', title: s.signature }, s.signature) },
  ], settlements);
}

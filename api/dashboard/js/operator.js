// The operator's view: the fleet by tier and model, hosts and their health, providers with their
// earnings, the network's money over time, and every lease linked to its workflow in the Temporal UI.
// Read-only aggregates: a poll every few seconds is plenty (no per-lease streams).
import { api, ApiError } from './api.js';
import { ago, badge, h, say, shortId, table, time } from './dom.js';
import { lineChart } from './chart.js';

const POLL_MS = 5000;

export function operatorView(root) {
  const boxes = {
    fleet: h('div'), hosts: h('div'), providers: h('div'), health: h('div'), leases: h('div'),
  };
  const bucket = h('select', { id: 'health-bucket', name: 'bucket' },
    h('option', { value: 'minute', selected: true }, 'per minute'), h('option', { value: 'hour' }, 'per hour'),
    h('option', { value: 'day' }, 'per day'));
  const section = (id, title, ...content) => h('section', { 'aria-labelledby': `${id}-title`, id },
    h('h3', { id: `${id}-title` }, title), ...content);
  root.replaceChildren(
    h('h2', {}, 'The network'),
    section('fleet', 'Fleet by tier and model', boxes.fleet),
    section('hosts', 'Hosts', boxes.hosts),
    section('providers', 'Providers and their earnings', boxes.providers),
    section('network-health', 'Network health over time',
      h('div', { class: 'inline' }, h('label', { for: 'health-bucket' }, 'Points'), bucket), boxes.health),
    section('all-leases', 'Leases', boxes.leases),
  );
  bucket.addEventListener('change', () => void load());

  async function load() {
    try {
      const [fleet, hosts, providers, health, leases] = await Promise.all([
        api('GET', '/v1/operator/fleet'),
        api('GET', '/v1/operator/hosts'),
        api('GET', '/v1/operator/providers'),
        api('GET', `/v1/operator/network-health?bucket=${bucket.value}&limit=48`),
        api('GET', '/v1/operator/leases?limit=100'),
      ]);
      boxes.fleet.replaceChildren(fleetTable(fleet));
      boxes.hosts.replaceChildren(hostsTable(hosts));
      boxes.providers.replaceChildren(providersTable(providers));
      // A redraw must not close the table a reader opened.
      const tableOpen = boxes.health.querySelector('details')?.open ?? false;
      boxes.health.replaceChildren(healthChart(health));
      boxes.health.querySelector('details').open = tableOpen;
      boxes.leases.replaceChildren(leasesTable(leases));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) say('Your operator key is no longer accepted: sign in again.');
      else say(`Could not load the network: ${error.message}`);
    }
  }

  void load();
  const poll = setInterval(() => void load(), POLL_MS);
  return { stop: () => clearInterval(poll) };
}

function fleetTable(fleet) {
  return table('GPUs by tier and model', [
    { label: 'Tier', header: true, numeric: true, value: (g) => g.tier },
    { label: 'Model', value: (g) => g.model },
    { label: 'Total', numeric: true, value: (g) => g.total },
    { label: 'Free now', numeric: true, value: (g) => g.free },
    { label: 'Leased', numeric: true, value: (g) => g.leased },
    { label: 'In use', value: (g) => h('meter', { min: 0, max: g.total, value: g.leased, 'aria-label': `${g.leased} of ${g.total} leased` }) },
  ], fleet);
}

function hostsTable(hosts) {
  const now = Date.now();
  return table('Hosts, their last report and health', [
    { label: 'Host', header: true, value: (x) => x.hostId },
    { label: 'Provider', value: (x) => x.providerName },
    { label: 'Tier', numeric: true, value: (x) => x.tier },
    { label: 'Health', value: (x) => badge(x.health) },
    { label: 'Last report', value: (x) => h('span', { title: x.lastReportAt ?? 'never' }, ago(x.lastReportAt, now)) },
    { label: 'GPUs leased', numeric: true, value: (x) => `${x.gpusLeased} / ${x.gpus}` },
    { label: 'Live assignments', numeric: true, value: (x) => x.liveAssignments },
  ], hosts);
}

function providersTable(providers) {
  return table('Providers with their earnings from confirmed settlements', [
    { label: 'Provider', header: true, value: (p) => p.name },
    { label: 'Tier', numeric: true, value: (p) => p.tier },
    { label: 'Hosts', numeric: true, value: (p) => p.hosts },
    { label: 'GPU-seconds paid', numeric: true, value: (p) => p.earnings.seconds },
    { label: 'Earned (gross)', numeric: true, value: (p) => p.earnings.gross },
    { label: 'Received (net)', numeric: true, value: (p) => p.earnings.net },
    { label: 'Settlements', numeric: true, value: (p) => p.earnings.settlements },
  ], providers);
}

const BUCKET_MS = { minute: 60_000, hour: 3600_000, day: 86_400_000 };

function healthChart({ bucket, points }) {
  const series = (name, key, className) => ({ name, className, points: points.map((p) => ({ t: Date.parse(p.start), v: Number(p[key]) })) });
  return h('div', {},
    lineChart({
      title: `Compute sold against paid to providers, fees and burn, ${bucket === 'minute' ? 'per minute' : `per ${bucket}`}`,
      description: points.length === 0 ? 'No settlement confirmed yet.'
        : `${points.length} points; latest: sold ${points.at(-1).computeSold}, paid to providers ${points.at(-1).paidToProviders}.`,
      series: [
        series('compute sold', 'computeSold', 'sold'),
        series('paid to providers', 'paidToProviders', 'paid'),
        series('fees', 'fees', 'fees'),
        series('burned', 'burned', 'burned'),
      ],
      yFormat: (v) => v.toFixed(v < 1 ? 4 : 2),
      minSpanMs: BUCKET_MS[bucket] * 4,
    }),
    h('details', {}, h('summary', {}, 'The same figures as a table'), table('Network health', [
      { label: 'From', header: true, value: (p) => time(p.start) },
      { label: 'Compute sold', numeric: true, value: (p) => p.computeSold },
      { label: 'Paid to providers', numeric: true, value: (p) => p.paidToProviders },
      { label: 'Fees', numeric: true, value: (p) => p.fees },
      { label: 'Burned', numeric: true, value: (p) => p.burned },
      { label: 'Refunded', numeric: true, value: (p) => p.refunded },
      { label: 'GPU-seconds', numeric: true, value: (p) => p.gpuSeconds },
    ], points)),
  );
}

function leasesTable(leases) {
  return table('Every lease, newest first, with its workflow', [
    { label: 'Lease', header: true, value: (l) => h('code', { title: l.id }, shortId(l.id)) },
    { label: 'Customer', value: (l) => l.customerName },
    { label: 'Status', value: (l) => badge(l.status) },
    { label: 'GPUs', value: (l) => `${l.gpuCount} × ${l.gpuModel}` },
    { label: 'Failovers', numeric: true, value: (l) => l.failoverCount },
    { label: 'Created', value: (l) => time(l.createdAt) },
    { label: 'Workflow', value: (l) => (l.temporalUrl
      ? h('a', { href: l.temporalUrl, target: '_blank', rel: 'noopener noreferrer' }, l.workflowId, h('span', { class: 'sr-only' }, ' (Temporal UI, new tab)'))
      : h('code', {}, l.workflowId)) },
  ], leases);
}

/**
 * The customer's commands, each a client of the REST API (never of the database): offers, estimate,
 * and lease create/ls/get/extend/cancel/cost/watch.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { LeaseEventView } from '../schemas/events.schemas';
import type { EstimateView } from '../schemas/estimates.schemas';
import type { LeaseDetailView, LeaseView } from '../schemas/leases.schemas';
import type { OfferView } from '../schemas/offers.schemas';
import type { SettlementView } from '../schemas/payments.schemas';
import { amount, envPair, integer, leaseId, tier } from './args';
import type { CliIo, GlobalOptions } from './context';
import { clientOf, print, table } from './context';
import { leaseCost } from './cost';
import { EXIT } from './errors';
import { registerLogsCommand } from './logs.commands';

interface RequestOptions {
  gpuModel: string;
  gpus: number;
  minTier: number;
  maxPrice: string;
  duration?: number;
  image?: string;
  env?: Record<string, string>;
}

/** The options of a lease request, shared by `estimate` and `lease create`. */
function requestOptions(command: Command, imageRequired: boolean): Command {
  return command
    .requiredOption('--gpu-model <model>', 'GPU model, e.g. H100 (see `offers`)')
    .option('--gpus <n>', 'number of GPUs', integer('--gpus', 1, 64), 1)
    .option('--min-tier <tier>', 'worst acceptable provider tier: 1 (best), 2 or 3', tier, 3)
    .requiredOption('--max-price <amount>', 'price cap per GPU-hour, e.g. 3.50', amount)
    .option('--duration <seconds>', 'a fixed duration in seconds (60 to 2592000); leave out to run until cancelled or until the allowance runs out',
      integer('--duration', 60, 2_592_000))
    .addOption(
      imageRequired
        ? new Option('--image <image>', 'container image every GPU runs').makeOptionMandatory()
        : new Option('--image <image>', 'container image (does not change the estimate)'),
    )
    .option('--env <KEY=VALUE>', 'environment variable for the containers (repeatable)', envPair);
}

function leaseRequest(options: RequestOptions, command: string[] = []) {
  return {
    gpuModel: options.gpuModel,
    gpuCount: options.gpus,
    minTier: options.minTier,
    maxPricePerGpuHour: options.maxPrice,
    ...(options.duration !== undefined ? { durationSeconds: options.duration } : {}),
    // An estimate does not depend on the image; the request schema still wants one.
    image: options.image ?? 'estimate',
    ...(command.length > 0 ? { command } : {}),
    ...(options.env ? { env: options.env } : {}),
  };
}

const leaseRows = (leases: LeaseView[]) =>
  table(
    ['ID', 'STATUS', 'GPUS', 'MODEL', 'TIER≤', 'MAX PRICE', 'CREATED'],
    leases.map((l) => [l.id, l.status, l.gpuCount, l.gpuModel, l.minTier, l.maxPricePerGpuHour, l.createdAt]),
  );

function leaseDetail(lease: LeaseDetailView): string {
  const lines = [
    `lease     ${lease.id}`,
    `status    ${lease.status}${lease.endReason ? ` (${lease.endReason})` : ''}`,
    `request   ${lease.gpuCount} × ${lease.gpuModel}, tier ${lease.minTier} or better, at most ${lease.maxPricePerGpuHour} per GPU-hour, ${lease.durationSeconds === null ? 'until cancelled' : `${lease.durationSeconds} s`}`,
    `image     ${lease.image}`,
    `started   ${lease.startedAt ?? '-'}   ends ${lease.endsAt ?? '-'}   ended ${lease.endedAt ?? '-'}`,
    `failovers ${lease.failoverCount}`,
  ];
  if (lease.escrow) {
    const e = lease.escrow;
    lines.push(`escrow    ${e.address} (${e.status}): deposited ${e.deposited}, paid ${e.paidToProviders}, fees ${e.fees}, burned ${e.burned}, refunded ${e.refunded}`);
  }
  if (lease.assignments.length > 0) {
    lines.push('', table(
      ['RANK', 'EPOCH', 'HOST', 'PROVIDER', 'TIER', 'PRICE', 'VERIFIED S', 'ENDED'],
      lease.assignments.map((a) => [a.rank, a.epoch, a.hostId, a.providerId, a.tier, a.pricePerGpuHour, a.verifiedSeconds, a.endReason ?? (a.endedAt ? 'yes' : '-')]),
    ));
  }
  return lines.join('\n');
}

function estimateText(e: EstimateView): string {
  const lines = [
    `${e.gpuCount} × ${e.gpuModel}, tier ${e.minTier} or better, at most ${e.maxPricePerGpuHour} per GPU-hour, ${e.durationSeconds === null ? 'until cancelled' : `${e.durationSeconds} s`}`,
    `deposit locked   ${e.deposit} (rolling: topped up from your allowance each period)`,
    e.placeableNow
      ? `placeable now    yes, at ${e.pricesPerGpuHour.join(' + ')} = ${e.costPerHour} per hour${e.costForDuration === null ? '' : ` (${e.costForDuration} for the whole duration)`}`
      : `placeable now    no: ${e.shortage}`,
  ];
  if (e.offers.length > 0) lines.push('', table(['TIER', 'PRICE/GPU-H', 'VRAM GB', 'FREE'], e.offers.map((o) => [o.tier, o.pricePerGpuHour, o.vramGb, o.available])));
  return lines.join('\n');
}

/**
 * Follows the lease's events until the stream ends: JSON lines with --json, the spinner otherwise.
 * Resolves to the exit code: 0, or 1 when the lease failed.
 */
export async function followLease(options: GlobalOptions, io: CliIo, id: string): Promise<number> {
  const client = clientOf(options, io);
  let failed = false;
  // ora is an ES module: loaded only when a person watches.
  const progress = options.json ? undefined : (await import('./progress')).spinnerProgress(id);
  try {
    for await (const message of client.events(id)) {
      if (message.event === 'end') {
        if (options.json) io.stdout(`${JSON.stringify({ kind: 'end', ...(JSON.parse(message.data || '{}') as object) })}\n`);
        break;
      }
      const event = JSON.parse(message.data) as LeaseEventView;
      if (event.kind === 'status' && event.data.status === 'failed') failed = true;
      if (options.json) io.stdout(`${JSON.stringify(event)}\n`);
      else progress!.show(event);
    }
  } finally {
    progress?.stop();
  }
  return failed ? EXIT.other : EXIT.ok;
}

export function registerCustomerCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const globals = (command: Command) => command.optsWithGlobals<GlobalOptions>();

  program
    .command('offers')
    .description('free GPUs on live hosts by model, tier and price (no API key needed)')
    .option('--gpu-model <model>', 'only this model')
    .option('--min-tier <tier>', 'only this tier or better', tier)
    .action(async (opts: { gpuModel?: string; minTier?: number }, command: Command) => {
      const query = new URLSearchParams({ ...(opts.gpuModel ? { gpuModel: opts.gpuModel } : {}), ...(opts.minTier ? { minTier: String(opts.minTier) } : {}) });
      const offers = (await clientOf(globals(command), io, false).request('GET', `/v1/offers${query.size ? `?${query}` : ''}`)) as OfferView[];
      print(io, globals(command), offers, () =>
        offers.length === 0
          ? 'no free GPUs on live hosts'
          : table(['MODEL', 'TIER', 'PRICE/GPU-H', 'VRAM GB', 'FREE'], offers.map((o) => [o.gpuModel, o.tier, o.pricePerGpuHour, o.vramGb, o.available])));
    });

  requestOptions(program.command('estimate'), false)
    .description('what a lease would cost and deposit, and what is free now; creates nothing')
    .action(async (opts: RequestOptions, command: Command) => {
      const estimate = (await clientOf(globals(command), io).request('POST', '/v1/estimates', leaseRequest(opts))) as EstimateView;
      print(io, globals(command), estimate, () => estimateText(estimate));
    });

  const lease = program.command('lease').description('your leases');

  requestOptions(lease.command('create'), true)
    .description('create a lease; the container command follows `--`')
    .argument('[command...]', 'the container command, after --')
    .option('--idempotency-key <key>', 'retry-safe creation: the same key and request give the same lease')
    .option('--watch', 'follow its progress until it ends')
    .action(async (containerCommand: string[], opts: RequestOptions & { idempotencyKey?: string; watch?: boolean }, command: Command) => {
      const options = globals(command);
      const created = (await clientOf(options, io).request('POST', '/v1/leases', leaseRequest(opts, containerCommand),
        opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {})) as LeaseDetailView;
      if (opts.watch && options.json) io.stdout(`${JSON.stringify({ kind: 'created', lease: created })}\n`);
      else if (opts.watch) io.stderr(`lease ${created.id} created\n`);
      else print(io, options, created, () => `lease ${created.id} created (${created.status})\nfollow it: lease-engine lease watch ${created.id}`);
      if (opts.watch) setExitCode(await followLease(options, io, created.id));
    });

  lease
    .command('ls')
    .description('your leases, newest first')
    .action(async (_opts: object, command: Command) => {
      const leases = (await clientOf(globals(command), io).request('GET', '/v1/leases')) as LeaseView[];
      print(io, globals(command), leases, () => (leases.length === 0 ? 'no leases yet' : leaseRows(leases)));
    });

  lease
    .command('get')
    .argument('<id>', 'lease id', leaseId)
    .description('one lease: status, ranks, escrow')
    .action(async (id: string, _opts: object, command: Command) => {
      const detail = (await clientOf(globals(command), io).request('GET', `/v1/leases/${id}`)) as LeaseDetailView;
      print(io, globals(command), detail, () => leaseDetail(detail));
    });

  lease
    .command('extend')
    .argument('<id>', 'lease id', leaseId)
    .requiredOption('--seconds <n>', 'how much longer', integer('--seconds', 1, 2_592_000))
    .description('lengthen a lease (its escrow is topped up)')
    .action(async (id: string, opts: { seconds: number }, command: Command) => {
      const detail = (await clientOf(globals(command), io).request('POST', `/v1/leases/${id}/extend`, { seconds: opts.seconds })) as LeaseDetailView;
      print(io, globals(command), detail, () => `lease ${id} extended to ${detail.durationSeconds} s${detail.endsAt ? `, ends ${detail.endsAt}` : ''}`);
    });

  lease
    .command('cancel')
    .argument('<id>', 'lease id', leaseId)
    .description('cancel a lease: stop, settle, refund')
    .action(async (id: string, _opts: object, command: Command) => {
      const detail = (await clientOf(globals(command), io).request('POST', `/v1/leases/${id}/cancel`)) as LeaseDetailView;
      print(io, globals(command), detail, () => `lease ${id} ${detail.status === 'cancelled' ? 'cancelled' : `is ${detail.status}: cancellation under way`}`);
    });

  lease
    .command('cost')
    .argument('<id>', 'lease id', leaseId)
    .description('what a lease has cost: paid, fees, burned, refunded, per provider')
    .action(async (id: string, _opts: object, command: Command) => {
      const client = clientOf(globals(command), io);
      const detail = (await client.request('GET', `/v1/leases/${id}`)) as LeaseDetailView;
      const settlements = (await client.request('GET', `/v1/leases/${id}/settlements`)) as SettlementView[];
      const cost = leaseCost(detail, settlements);
      print(io, globals(command), cost, () => [
        `lease ${id} (${cost.status})${cost.escrow ? `, escrow ${cost.escrow}` : ', no escrow yet'}`,
        `deposited ${cost.deposited}   paid to providers ${cost.paidToProviders}   fees ${cost.fees}   burned ${cost.burned}   refunded ${cost.refunded}   still held ${cost.held}`,
        `${cost.settlements} settlement(s)`,
        ...(cost.providers.length > 0
          ? ['', table(['PROVIDER', 'GPU-SECONDS', 'GROSS', 'NET', 'FEE', 'BURN'], cost.providers.map((p) => [p.providerId, p.seconds, p.gross, p.net, p.fee, p.burn]))]
          : []),
      ].join('\n'));
    });

  lease
    .command('watch')
    .argument('<id>', 'lease id', leaseId)
    .description('follow a lease live until it ends (exit 1 if it failed)')
    .action(async (id: string, _opts: object, command: Command) => {
      setExitCode(await followLease(globals(command), io, id));
    });

  registerLogsCommand(lease, io, setExitCode);
}


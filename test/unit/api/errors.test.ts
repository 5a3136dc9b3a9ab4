/** How validation failures and library errors become problem details. */
import { HostConflictError } from '../../../infra/db/repositories/hosts.repo';
import { fieldErrors, parseOrThrow, toProblem, HttpProblem } from '../../../api/errors';
import { LeaseNotRunningError, LeaseUpdateRejectedError } from '../../../api/lease-orchestrator';
import { RegisterHostRequest } from '../../../api/schemas/hosts.schemas';
import { generateHostKey } from '../../../domain/host-key';
import { LeaseRequest } from '../../../api/schemas/leases.schemas';

const publicKey = generateHostKey().publicKey;
const lease = { gpuModel: 'H100', gpuCount: 1, minTier: 1, maxPricePerGpuHour: '1', durationSeconds: 60, image: 'busybox' };

describe('fieldErrors', () => {
  test('names nested fields the way a client writes them, and each unknown key', () => {
    const result = RegisterHostRequest.safeParse({
      hostId: 'h1',
      publicKey,
      gpuSource: 'simulated',
      gpus: [{ id: 'g0', model: 'H100', vramGb: 80, pricePerGpuHour: '1.0000001' }],
      tier: 1,
      owner: 'me',
    });
    expect(result.success).toBe(false);
    expect(fieldErrors(result.error!)).toEqual([
      { field: 'gpus[0].pricePerGpuHour', message: 'amount "1.0000001" has more than 6 decimals' },
      { field: 'tier', message: 'unknown field' },
      { field: 'owner', message: 'unknown field' },
    ]);
  });

  test('a small-order host key is refused, by name (anyone could sign for it)', () => {
    const gpu = { id: 'g0', model: 'H100', vramGb: 80, pricePerGpuHour: '1' };
    const result = RegisterHostRequest.safeParse({ hostId: 'h1', publicKey: '11111111111111111111111111111111', gpuSource: 'simulated', gpus: [gpu] });
    expect(fieldErrors(result.error!)).toEqual([
      { field: 'publicKey', message: 'must be a sound ed25519 public key: canonical, on the curve, not of small order' },
    ]);
    // Not base58 at all: that one problem, not its consequence too.
    const garbled = RegisterHostRequest.safeParse({ hostId: 'h1', publicKey: '0OIl', gpuSource: 'simulated', gpus: [gpu] });
    expect(fieldErrors(garbled.error!)).toEqual([{ field: 'publicKey', message: 'must be a base58 ed25519 public key' }]);
  });

  test('a duplicate GPU id is named at the duplicate', () => {
    const gpu = { id: 'g0', model: 'H100', vramGb: 80, pricePerGpuHour: '1' };
    const result = RegisterHostRequest.safeParse({ hostId: 'h1', publicKey, gpuSource: 'simulated', gpus: [gpu, gpu] });
    expect(fieldErrors(result.error!)).toEqual([{ field: 'gpus[1].id', message: 'duplicate GPU id g0' }]);
  });
});

describe('parseOrThrow', () => {
  test('returns the parsed value', () => {
    expect(parseOrThrow(LeaseRequest, lease)).toEqual(lease);
  });

  test('throws a 400 whose detail lists every failing field, prefixed when asked', () => {
    let thrown: unknown;
    try {
      parseOrThrow(LeaseRequest, { ...lease, gpuCount: 0, durationSeconds: 'long' }, 'body');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpProblem);
    const problem = thrown as HttpProblem;
    expect(problem.status).toBe(400);
    expect(problem.errors?.map((e) => e.field)).toEqual(['body.gpuCount', 'body.durationSeconds']);
    expect(problem.detail).toMatch(/^body\.gpuCount: .*; body\.durationSeconds: .*expected number/);
  });
});

describe('toProblem', () => {
  test.each([
    [new LeaseUpdateRejectedError('lease is closing', 'conflict'), 409],
    [new LeaseUpdateRejectedError('too long', 'invalid'), 422],
    [new LeaseNotRunningError('finished'), 409],
    [new HostConflictError('taken'), 409],
    [Object.assign(new SyntaxError('Unexpected end of JSON input'), { type: 'entity.parse.failed', status: 400 }), 400],
    [Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413 }), 413],
    [Object.assign(new Error('unsupported charset "LATIN-9"'), { type: 'charset.unsupported', status: 415 }), 415],
  ])('%s → %i', (error, status) => {
    expect(toProblem(error)?.status).toBe(status);
  });

  test('an unknown error is not a client problem (the handler answers 500 and logs it)', () => {
    expect(toProblem(new Error('connection reset'))).toBeUndefined();
    expect(toProblem('a string')).toBeUndefined();
  });
});

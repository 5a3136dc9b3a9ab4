/**
 * The API fuzzed from its own OpenAPI document (issue 9, item 5; DESIGN §5: bad input is answered 4xx
 * with a message that names the problem, nothing is half-created). Schemathesis runs against a real
 * engine (PostgreSQL, Temporal, the chain node, a host agent), every operation, once with a customer
 * key and a provider key and once without keys (hosts' signed routes answer 401 to both: a fuzzer
 * cannot sign). Besides schemathesis's own checks (server errors, status codes, response schemas,
 * negative and positive data, undeclared methods, ignored auth), every answer it got is held here to
 * the API's rules, and the database is held to what the API said it created.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestEngine } from '../../support/engine';
import { startEngine } from '../../support/engine';
import type { Interaction } from '../../support/schemathesis';
import { readInteractions, runSchemathesis } from '../../support/schemathesis';

/** Examples per operation and phase: the whole file stays under 2 minutes of schemathesis on 2 cores. */
const MAX_EXAMPLES = Number(process.env.SCHEMATHESIS_MAX_EXAMPLES ?? 5);
/** Fixed, so a failure in CI replays here; SCHEMATHESIS_SEED explores further. */
const SEED = Number(process.env.SCHEMATHESIS_SEED ?? 20261201);
const CONFIG = path.join(__dirname, 'schemathesis.toml');
const RUN_TIMEOUT_MS = 150_000;

let engine: TestEngine;
let workDir: string;
let provider: { id: string; apiKey: string };
/** "GET /v1/leases/{id}" → whether the document asks for credentials. */
let secured: Map<string, boolean>;
/** Customers' wallets before the fuzzing: a fuzzer cannot sign a wallet registration, so none may change. */
let walletsBefore: { id: string; wallet_address: string | null }[];
const runs: Record<'withKeys' | 'withoutKeys', Interaction[]> = { withKeys: [], withoutKeys: [] };

beforeAll(async () => {
  engine = await startEngine({ hosts: [{ hostId: 'fuzz-host-1', provider: 'fuzz-provider', tier: 1, gpus: 'H100:80:2.5x2' }] });
  provider = engine.providers.get('fuzz-provider') as unknown as { id: string; apiKey: string };
  walletsBefore = await engine.database.db.selectFrom('customers').select(['id', 'wallet_address']).orderBy('id').execute();
  workDir = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-schemathesis-'));
  const document = (await (await fetch(`${engine.apiUrl}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  secured = new Map(
    Object.entries(document.paths).flatMap(([template, item]) =>
      Object.entries(item).map(([method, operation]) => [`${method.toUpperCase()} ${template}`, (operation.security ?? []).length > 0] as const),
    ),
  );
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function fuzz(name: keyof typeof runs, auth: string): Promise<Interaction[]> {
  const configFile = path.join(workDir, `${name}.toml`);
  const reportDir = path.join(workDir, `${name}-report`);
  await writeFile(configFile, `${await readFile(CONFIG, 'utf8')}\n${auth}\n`);
  const result = await runSchemathesis({
    openapiUrl: `${engine.apiUrl}/openapi.json`, configFile, reportDir, cwd: workDir, maxExamples: MAX_EXAMPLES, seed: SEED, timeoutMs: RUN_TIMEOUT_MS,
  });
  // Its report names each failure with a curl line that reproduces it.
  if (result.exitCode !== 0) throw new Error(`schemathesis (${name}) exited ${result.exitCode}:\n${result.output}`);
  const interactions = await readInteractions(reportDir);
  runs[name] = interactions;
  const operations = new Set(interactions.map((i) => i.operation).filter((label) => secured.has(label)));
  // The figures, for the record (README "Fuzzing the API").
  const byStatus = new Map<string, number>();
  for (const i of interactions) byStatus.set(String(i.status), (byStatus.get(String(i.status)) ?? 0) + 1);
  const statuses = [...byStatus].sort(([a], [b]) => a.localeCompare(b)).map(([status, n]) => `${status}×${n}`).join(' ');
  console.info(`schemathesis ${name}: ${interactions.length} requests over ${operations.size} of ${secured.size} operations; ${statuses}`);
  return interactions;
}

/** Every answer ≥ 400 is application/problem+json whose type, title and detail say what went wrong. */
function expectProblems(interactions: Interaction[]): void {
  const bad = interactions.filter((i) => {
    if (i.status < 400) return false;
    if (!i.contentType.startsWith('application/problem+json')) return true;
    try {
      const problem = JSON.parse(i.body) as { type?: unknown; title?: unknown; status?: unknown; detail?: unknown; errors?: unknown };
      const named = typeof problem.detail === 'string' && problem.detail.length > 0 && typeof problem.title === 'string' && problem.title.length > 0;
      const typed = typeof problem.type === 'string' && problem.type.startsWith('urn:lease-engine:problem:') && problem.status === i.status;
      // A validation problem lists each failing field by name.
      const fields = problem.type !== 'urn:lease-engine:problem:validation'
        || (Array.isArray(problem.errors) && problem.errors.length > 0 && problem.errors.every((e: { field?: unknown }) => typeof e.field === 'string' && e.field !== ''));
      return !(named && typed && fields);
    } catch {
      return true;
    }
  });
  expect(bad.slice(0, 5).map((i) => `${i.method} ${i.url} → ${i.status} ${i.contentType}: ${i.body.slice(0, 300)}`)).toEqual([]);
}

test('with a customer key and a provider key: no 5xx, every error a problem that names it', async () => {
  const interactions = await fuzz('withKeys', [
    '[auth.openapi.customerKey]', `bearer = "${engine.customers[0]!.apiKey}"`,
    '[auth.openapi.providerKey]', `bearer = "${provider.apiKey}"`,
  ].join('\n'));
  expect(interactions.length).toBeGreaterThan(500);
  expect(interactions.filter((i) => i.status >= 500).map((i) => `${i.method} ${i.url} → ${i.status}`)).toEqual([]);
  expectProblems(interactions);
  // Every operation of the document was exercised (but the document itself, which schemathesis reads and
  // does not fuzz), and the keys opened the customer's: some answered 2xx.
  const covered = new Set(interactions.map((i) => i.operation));
  expect([...secured.keys()].filter((operation) => !covered.has(operation) && operation !== 'GET /openapi.json')).toEqual([]);
  expect(interactions.some((i) => i.operation === 'GET /v1/leases' && i.status === 200)).toBe(true);
}, RUN_TIMEOUT_MS + 30_000);

test('without keys: no 5xx, and no operation that asks for credentials answers 2xx', async () => {
  const interactions = await fuzz('withoutKeys', '');
  expect(interactions.filter((i) => i.status >= 500).map((i) => `${i.method} ${i.url} → ${i.status}`)).toEqual([]);
  expectProblems(interactions);
  // OPTIONS is left out: express answers it with the Allow header alone, which the public document says too.
  const opened = interactions.filter((i) => secured.get(i.operation) === true && i.method !== 'OPTIONS' && i.status < 300);
  expect(opened.slice(0, 5).map((i) => `${i.method} ${i.url} → ${i.status}`)).toEqual([]);
}, RUN_TIMEOUT_MS + 30_000);

test('nothing half-created: the database holds exactly what the API answered as created', async () => {
  const all = [...runs.withKeys, ...runs.withoutKeys];
  expect(all.length).toBeGreaterThan(0);
  const created = new Set(
    all
      .filter((i) => i.method === 'POST' && new URL(i.url, 'http://x').pathname === '/v1/leases' && (i.status === 200 || i.status === 201))
      .map((i) => (JSON.parse(i.body) as { id: string }).id),
  );
  const { db } = engine.database;
  const leases = await db.selectFrom('leases').select(['id', 'status']).execute();
  console.info(`schemathesis created ${leases.length} leases: ${leases.map((l) => l.status).join(', ')}`);
  expect(leases.map((l) => l.id).sort()).toEqual([...created].sort());
  // Each lease the API created has its workflow: none was left behind by a request that failed half-way.
  for (const lease of leases) {
    await expect(engine.temporal.client.workflow.getHandle(`lease-${lease.id}`).describe()).resolves.toBeDefined();
  }
  // Fuzzed registrations and reports (unsigned) left no host, GPU or wallet behind.
  expect((await db.selectFrom('hosts').select('id').execute()).map((h) => h.id)).toEqual(['fuzz-host-1']);
  expect(await db.selectFrom('gpus').select('id').where('host_id', '!=', 'fuzz-host-1').execute()).toEqual([]);
  expect(await db.selectFrom('customers').select(['id', 'wallet_address']).orderBy('id').execute()).toEqual(walletsBefore);
}, 60_000);

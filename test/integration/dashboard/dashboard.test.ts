/**
 * The web dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a whole
 * engine: a customer signs in, creates a lease, watches it reach running without reloading, reads its
 * logs, sees it fail over when its host dies, and cancels it; then an operator reads the network. Screenshots of each page go to
 * test-output/dashboard/ (gitignored) for a person to look at.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { createOperator } from '../../../infra/db/repositories/operators.repo';
import type { TestEngine } from '../../support/engine';
import { startEngine } from '../../support/engine';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.resolve(__dirname, '../../../test-output/dashboard');
const TEMPORAL_UI = 'http://127.0.0.1:8233';

let engine: TestEngine;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  engine = await startEngine({
    // dash-a is the cheaper: the lease starts there and fails over to dash-b (another provider) when it dies.
    hosts: [
      { hostId: 'dash-a', provider: 'dash-atlas', tier: 1, gpus: 'H100:80:3.20x1' },
      { hostId: 'dash-b', provider: 'dash-birch', tier: 1, gpus: 'H100:80:3.40x1' },
    ],
    apiEnv: { TEMPORAL_UI_URL: TEMPORAL_UI },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Answers the API refused (the wrong key tried on purpose) are logged by Chromium as resource errors; any
  // other console error is the page's own fault.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** What the page's controls are to this check (the test compiles without the DOM's types). */
interface Control {
  hidden: boolean;
  type?: string;
  id: string;
  outerHTML: string;
  labels?: { length: number } | null;
  getAttribute(name: string): string | null;
}

/** Every form control has an accessible name: a <label for>, or aria-label. */
async function unlabelledControls(): Promise<string[]> {
  return page.$$eval('input, select, textarea', (elements) =>
    (elements as unknown as Control[])
      .filter((c) => !c.hidden && c.type !== 'hidden')
      .filter((c) => (c.labels?.length ?? 0) === 0 && !c.getAttribute('aria-label'))
      .map((c) => c.id || c.outerHTML.slice(0, 60)));
}

async function signIn(key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('a customer signs in, creates a lease, watches it run, reads its logs, sees it fail over and cancels it', async () => {
  await page.goto(`${engine.apiUrl}/`);
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('lease-engine');
  await shot('1-sign-in');

  await signIn('le_cus_not-a-key');
  await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor();

  await signIn(engine.customers[0]!.apiKey);
  await page.getByRole('heading', { name: 'Your leases' }).waitFor();
  // Nothing below reloads the page: a marker set now must survive until the lease runs.
  await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));

  await page.getByLabel('GPU model').fill('H100');
  await page.getByLabel('Worst tier accepted').selectOption('1');
  await page.getByLabel('Max price per GPU-hour').fill('3.50');
  await page.getByLabel('Command (run with sh -c)').fill('i=0; while true; do i=$((i+1)); echo "dashboard line $i"; sleep 1; done');
  await page.getByRole('button', { name: 'Create lease' }).click();
  const heading = page.getByRole('heading', { name: /^Lease [0-9a-f-]{36}$/ });
  await heading.waitFor();
  const leaseId = (await heading.textContent())!.replace('Lease ', '');

  await page.locator('#detail-status', { hasText: 'running' }).waitFor({ timeout: 90_000 });
  expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
  // The list row changed too, from the same event stream.
  await page.locator(`[data-lease-status="${leaseId}"]`, { hasText: 'running' }).waitFor();
  // Ranks with provider, tier and epoch.
  const rankRow = page.locator('table', { has: page.locator('caption', { hasText: 'Each rank' }) }).locator('tbody tr').first();
  expect(await rankRow.textContent()).toMatch(/^0\s*1\s*dash-atlas\s*dash-a\s*1/);

  // Its logs, as the host agent ships them.
  await page.locator('#logs .line', { hasText: 'dashboard line 2' }).waitFor({ timeout: 60_000 });
  expect(await page.locator('#logs .line').first().textContent()).toMatch(/\[rank 0 · epoch 1\] dashboard line 1/);

  // A settlement with its signature, and the cost chart drawn against the deposit.
  await page.locator('code.signature').first().waitFor({ timeout: 60_000 });
  expect(await page.locator('svg[role=img] title', { hasText: 'Cost so far against the deposit' }).count()).toBe(1);
  expect(await unlabelledControls()).toEqual([]);
  await shot('2-customer-lease-running');

  // Its host dies: the timeline shows rank 0 on a new epoch elsewhere, and the logs carry on from there.
  engine.killHost('dash-a');
  await page.locator('.events li[data-kind="running"]', { hasText: 'epoch 2' }).waitFor({ timeout: 60_000 });
  expect(await rankRow.textContent()).toMatch(/^0\s*2\s*dash-birch\s*dash-b/);
  await page.locator('#logs .line', { hasText: 'epoch 2' }).first().waitFor({ timeout: 30_000 });
  expect(await page.locator('svg rect.bar').count()).toBe(2);
  await shot('3-customer-lease-failed-over');

  page.once('dialog', (dialog) => void dialog.accept());
  await page.getByRole('button', { name: 'Cancel lease' }).click();
  await page.locator('#detail-status', { hasText: /cancelled|closed/ }).waitFor({ timeout: 60_000 });
  expect((await engine.request('GET', `/v1/leases/${leaseId}`)).body.status).toMatch(/cancelled|closed/);
  await shot('4-customer-lease-cancelled');
  expect(pageErrors).toEqual([]);
}, 300_000);

test('an operator sees the fleet, hosts, providers with earnings, network health and leases linked to Temporal', async () => {
  const operator = await createOperator(engine.database.db, 'dashboard-ops');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(operator.apiKey);
  await page.getByRole('heading', { name: 'The network' }).waitFor();

  const fleet = page.locator('#fleet tbody tr').first();
  await fleet.waitFor();
  expect(await fleet.textContent()).toMatch(/^1\s*H100\s*2/);
  await page.locator('#hosts tbody tr', { hasText: 'dash-a' }).locator('.badge', { hasText: 'lost' }).waitFor();
  await page.locator('#hosts tbody tr', { hasText: 'dash-b' }).locator('.badge', { hasText: 'healthy' }).waitFor();
  // The cancelled lease's settlements paid the provider.
  const provider = page.locator('#providers tbody tr', { hasText: 'dash-atlas' });
  await provider.waitFor();
  expect(Number((await provider.locator('td').nth(3).textContent()) ?? 0)).toBeGreaterThan(0);
  await page.locator('#network-health svg circle').first().waitFor();

  const link = page.locator('#all-leases a', { hasText: /^lease-/ }).first();
  await link.waitFor();
  expect(await link.getAttribute('href')).toMatch(new RegExp(`^${TEMPORAL_UI}/namespaces/[^/]+/workflows/lease-[0-9a-f-]{36}$`));
  expect(await unlabelledControls()).toEqual([]);
  await shot('5-operator');
  expect(pageErrors).toEqual([]);
}, 120_000);

// `lifecycle-guard audit -o html` in a real browser: the report renderer's output is written to a
// file and opened from disk in Debian's headless Chromium (test/e2e/ensure-chromium.sh installs it),
// driven by playwright-core, which never downloads a browser of its own. Checks what a person sees
// and does: the chart, the rows, filtering, sorting; that the page makes no request but the file
// itself and logs no error; and saves screenshots to test-artifacts/ for a look.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { renderHtmlReport } from '../../src/cli/html-report.js';
import { summarize, type AuditReport, type ReportFinding } from '../../src/engine/report.js';
import { RULES } from '../../src/rules/index.js';
import { CHROMIUM, launchChromium } from './harness/browser.js';

const ARTIFACTS = resolve('test-artifacts');

function fixOf(rule: string): string {
  const found = RULES.find((candidate) => candidate.meta.id === rule);
  assert.ok(found, `rule ${rule} exists`);
  return found.meta.fix;
}

type Row = [namespace: string, kind: string, name: string, container: string, rule: string, mode: 'enforce' | 'audit', message: string];

// 3 namespaces, 4 rules, validating (enforce and audit) and mutating findings; one name that
// tries to inject markup, to see it shown as text.
const ROWS: Row[] = [
  [
    'payments',
    'Deployment',
    'checkout-api',
    'api',
    'no-shell-entrypoint',
    'enforce',
    'runs `sh -c` as PID 1: the shell swallows SIGTERM and the app is SIGKILLed after the grace period',
  ],
  [
    'payments',
    'Deployment',
    'checkout-api',
    'api',
    'inject-prestop-delay',
    'enforce',
    'adds a preStop sleep of 5s (lifecycle.preStop.sleep.seconds)',
  ],
  [
    'payments',
    'Deployment',
    'checkout-api',
    '',
    'inject-prestop-delay',
    'enforce',
    'raises terminationGracePeriodSeconds from 10 to 35 (5s delay + 30s to shut down)',
  ],
  ['payments', 'StatefulSet', 'ledger', 'postgres', 'require-readiness-probe', 'audit', 'has no readinessProbe'],
  [
    'payments',
    'StatefulSet',
    'ledger',
    'postgres',
    'termination-message-fallback',
    'enforce',
    'sets terminationMessagePolicy to FallbackToLogsOnError',
  ],
  ['payments', 'Deployment', 'fraud-scorer', 'model', 'require-readiness-probe', 'audit', 'has no readinessProbe'],
  ['payments', 'Deployment', 'fraud-scorer', 'envoy', 'require-readiness-probe', 'audit', 'native sidecar has no readinessProbe'],
  [
    'shop',
    'Deployment',
    'storefront',
    'web',
    'no-shell-entrypoint',
    'enforce',
    'runs `bash -c` as PID 1: the shell swallows SIGTERM and the app is SIGKILLed after the grace period',
  ],
  [
    'shop',
    'Deployment',
    'storefront',
    'web',
    'termination-message-fallback',
    'enforce',
    'sets terminationMessagePolicy to FallbackToLogsOnError',
  ],
  [
    'shop',
    'DaemonSet',
    '<script>alert("x")</script>',
    'agent',
    'no-shell-entrypoint',
    'enforce',
    'runs `sh -c` as PID 1 & <b>not</b> bold',
  ],
  ['shop', 'Deployment', 'basket', 'app', 'inject-prestop-delay', 'enforce', 'adds a preStop exec `sleep 5`'],
  ['data-pipeline', 'StatefulSet', 'kafka-connect', 'connect', 'require-readiness-probe', 'audit', 'has no readinessProbe'],
  [
    'data-pipeline',
    'Deployment',
    'airflow-scheduler',
    'scheduler',
    'no-shell-entrypoint',
    'enforce',
    'runs `sh -c` as PID 1: the shell swallows SIGTERM and the app is SIGKILLed after the grace period',
  ],
  [
    'data-pipeline',
    'Deployment',
    'airflow-scheduler',
    'scheduler',
    'termination-message-fallback',
    'enforce',
    'sets terminationMessagePolicy to FallbackToLogsOnError',
  ],
];

const findings: ReportFinding[] = ROWS.map(([namespace, kind, name, container, rule, mode, message]) => ({
  kind,
  namespace,
  name,
  container,
  rule,
  type: RULES.find((candidate) => candidate.meta.id === rule)?.meta.type ?? 'validating',
  mode,
  message,
  fix: fixOf(rule),
}));

const report: AuditReport = {
  generatedAt: '2026-03-14T09:26:53Z',
  cluster: 'prod-eu-west-1 (https://10.0.0.1:6443)',
  namespaces: ['data-pipeline', 'monitoring', 'payments', 'shop'],
  findings,
  summary: summarize(23, findings),
};

const NAMESPACES = new Set(findings.map((finding) => finding.namespace));
const RULE_IDS = new Set(findings.map((finding) => finding.rule));

let dir: string;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash test/e2e/ensure-chromium.sh`);
  assert.equal(NAMESPACES.size, 3);
  assert.equal(RULE_IDS.size, 4);
  dir = await mkdtemp(join(tmpdir(), 'lg-html-report-'));
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Opened {
  context: BrowserContext;
  page: Page;
  url: string;
  requests: string[];
  errors: string[];
}

/** Writes the report to a file and opens it; any request that is not for a file:// URL is recorded and aborted. */
async function open(
  data: AuditReport,
  file: string,
  options: { javaScriptEnabled?: boolean; colorScheme?: 'light' | 'dark' } = {},
): Promise<Opened> {
  const path = join(dir, file);
  await writeFile(path, renderHtmlReport(data));
  const url = pathToFileURL(path).href;
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    colorScheme: options.colorScheme ?? 'light',
  });
  context.setDefaultTimeout(10_000);
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  await context.route(
    (target) => target.protocol !== 'file:',
    (route) => route.abort('blockedbyclient'),
  );
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(`console.${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
  await page.goto(url, { waitUntil: 'load' });
  return { context, page, url, requests, errors };
}

async function visibleRows(page: Page): Promise<number> {
  return page.locator('#findings tbody tr:visible').count();
}

async function columnTexts(page: Page, column: number): Promise<string[]> {
  return page.locator(`#findings tbody tr:visible td:nth-child(${column + 1})`).allTextContents();
}

const NAME_COLUMN = 2;
const RULE_COLUMN = 4;

describe('HTML audit report in headless Chromium', () => {
  let opened: Opened;

  before(async () => {
    opened = await open(report, 'audit-report.html');
  });

  after(async () => {
    await opened?.context.close();
  });

  test('shows the title, the summary and a visible chart with one bar per namespace', async () => {
    const { page } = opened;
    assert.match(await page.title(), /prod-eu-west-1/);
    assert.equal(await page.locator('[data-summary="findings"]').textContent(), String(findings.length));
    assert.equal(await page.locator('[data-summary="denied"]').textContent(), String(report.summary.denied));
    const chart = page.locator('svg#chart');
    assert.ok(await chart.isVisible(), 'the chart is visible');
    const box = await chart.boundingBox();
    assert.ok(box && box.width > 400 && box.height > 60, `chart size ${JSON.stringify(box)}`);
    const bars = chart.locator('g.bar');
    assert.equal(await bars.count(), NAMESPACES.size);
    for (const bar of await bars.all()) {
      assert.ok(await bar.isVisible());
      const barBox = await bar.boundingBox();
      assert.ok(barBox && barBox.width > 20, 'a bar has a width');
    }
    // Bars are sorted by count: payments (7), shop (4), data-pipeline (3); longer bars for more findings.
    assert.deepEqual(await bars.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-namespace'))), [
      'payments',
      'shop',
      'data-pipeline',
    ]);
    const widths = await bars.locator('rect.segment').evaluateAll((nodes) => nodes.length);
    assert.equal(widths, 10, 'segments: payments 4 rules, shop 3, data-pipeline 3');
    const barWidths = await Promise.all(
      (await bars.all()).map((bar) =>
        bar.locator('rect.segment').evaluateAll((rects) => rects.reduce((sum, rect) => sum + (rect as SVGRectElement).getBBox().width, 0)),
      ),
    );
    assert.ok(
      (barWidths[0] ?? 0) > (barWidths[1] ?? 0) && (barWidths[1] ?? 0) > (barWidths[2] ?? 0),
      `bar lengths ${barWidths.join(', ')}`,
    );
    assert.equal(await page.locator('.legend li').count(), RULE_IDS.size);
  });

  test('the table shows every finding, markup in names as text', async () => {
    const { page } = opened;
    assert.equal(await visibleRows(page), findings.length);
    assert.equal(await page.locator('#finding-count').textContent(), `${findings.length} of ${findings.length} findings shown`);
    assert.ok((await columnTexts(page, NAME_COLUMN)).includes('<script>alert("x")</script>'));
    assert.ok((await page.locator('#findings tbody').textContent())?.includes(fixOf('no-shell-entrypoint')), 'the fix is shown');
  });

  test('typing in the filter reduces the rows and the count', async () => {
    const { page } = opened;
    await page.getByLabel('Filter', { exact: true }).fill('checkout');
    assert.equal(await visibleRows(page), 3);
    assert.equal(await page.locator('#finding-count').textContent(), `3 of ${findings.length} findings shown`);
    // Several words must all match, in any column.
    await page.getByLabel('Filter', { exact: true }).fill('ledger readiness');
    assert.deepEqual(await columnTexts(page, NAME_COLUMN), ['ledger']);
    await page.getByLabel('Filter', { exact: true }).fill('no such thing');
    assert.equal(await visibleRows(page), 0);
    assert.ok(await page.getByText('No findings match the filters.').isVisible());
    assert.equal(await page.locator('#finding-count').textContent(), `0 of ${findings.length} findings shown`);
    await page.getByLabel('Filter', { exact: true }).fill('');
    assert.equal(await visibleRows(page), findings.length);
  });

  test('the rule and namespace selects filter the rows', async () => {
    const { page } = opened;
    await page.getByLabel('Rule', { exact: true }).selectOption('require-readiness-probe');
    const expected = findings.filter((finding) => finding.rule === 'require-readiness-probe');
    assert.equal(await visibleRows(page), expected.length);
    assert.deepEqual(new Set(await columnTexts(page, RULE_COLUMN)), new Set(['require-readiness-probe']));
    assert.equal(await page.locator('#finding-count').textContent(), `${expected.length} of ${findings.length} findings shown`);
    await page.getByLabel('Namespace', { exact: true }).selectOption('payments');
    assert.equal(await visibleRows(page), expected.filter((finding) => finding.namespace === 'payments').length);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForFunction(
      () => document.getElementById('shown-count')?.textContent === String(document.querySelectorAll('#findings tbody tr').length),
    );
    assert.equal(await visibleRows(page), findings.length);
    assert.equal(await page.getByLabel('Rule', { exact: true }).inputValue(), '');
  });

  test('clicking the Name header sorts by name, again to reverse', async () => {
    const { page } = opened;
    const header = page.locator('#findings thead th').nth(NAME_COLUMN);
    assert.equal(await header.getAttribute('aria-sort'), null);
    const names = findings.map((finding) => finding.name);
    const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
    const ascending = [...names].sort(collator.compare);
    await page.getByRole('button', { name: 'Name', exact: true }).click();
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    assert.deepEqual(await columnTexts(page, NAME_COLUMN), ascending);
    assert.equal(ascending[0], '<script>alert("x")</script>', 'punctuation sorts first');
    assert.equal(ascending.at(-1), 'storefront');
    await page.getByRole('button', { name: 'Name', exact: true }).click();
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    assert.deepEqual(await columnTexts(page, NAME_COLUMN), [...ascending].reverse());
    // Another column takes over the sort; filters keep working on the sorted rows.
    await page.getByRole('button', { name: 'Rule', exact: true }).click();
    assert.equal(await header.getAttribute('aria-sort'), null);
    assert.equal(await page.locator('#findings thead th').nth(RULE_COLUMN).getAttribute('aria-sort'), 'ascending');
    await page.getByLabel('Filter', { exact: true }).fill('shop');
    assert.equal(await visibleRows(page), findings.filter((finding) => finding.namespace === 'shop').length);
    await page.getByLabel('Filter', { exact: true }).fill('');
    // Back to the name order for the screenshot.
    await page.getByRole('button', { name: 'Name', exact: true }).click();
  });

  test('logs no error and requests nothing but the file itself', () => {
    assert.deepEqual(opened.errors, []);
    assert.deepEqual(opened.requests, [opened.url]);
  });

  test('full-page screenshot to test-artifacts/audit-report.png', async () => {
    await opened.page.screenshot({ path: join(ARTIFACTS, 'audit-report.png'), fullPage: true });
    // The report itself beside it, to open by hand.
    await writeFile(join(ARTIFACTS, 'audit-report.html'), renderHtmlReport(report));
    assert.ok(existsSync(join(ARTIFACTS, 'audit-report.png')));
  });
});

test('without JavaScript the chart and every row still show', async () => {
  const { context, page, errors } = await open(report, 'no-js.html', { javaScriptEnabled: false });
  try {
    assert.equal(await page.locator('svg#chart g.bar').count(), NAMESPACES.size);
    assert.ok(await page.locator('svg#chart').isVisible());
    assert.equal(await visibleRows(page), findings.length);
    assert.equal(await page.locator('#filters').isVisible(), false, 'filters that cannot work are hidden');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('dark colour scheme renders too', async () => {
  const { context, page, errors, requests, url } = await open(report, 'dark.html', { colorScheme: 'dark' });
  try {
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(background, 'rgb(255, 255, 255)');
    await page.screenshot({ path: join(ARTIFACTS, 'audit-report-dark.png'), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url]);
  } finally {
    await context.close();
  }
});

test('an empty report shows "No findings"', async () => {
  const empty: AuditReport = { ...report, findings: [], summary: summarize(23, []) };
  const { context, page, errors } = await open(empty, 'empty.html');
  try {
    assert.ok(await page.getByRole('heading', { name: 'No findings' }).isVisible());
    assert.equal(await page.locator('svg#chart').count(), 0);
    await page.screenshot({ path: join(ARTIFACTS, 'audit-report-empty.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

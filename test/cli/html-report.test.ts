import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeHtml, renderHtmlReport } from '../../src/cli/html-report.js';
import { summarize, type AuditReport, type ReportFinding } from '../../src/engine/report.js';
import { RULES } from '../../src/rules/index.js';

function fixOf(rule: string): string {
  return RULES.find((candidate) => candidate.meta.id === rule)?.meta.fix ?? 'fix it';
}

function finding(overrides: Partial<ReportFinding> & Pick<ReportFinding, 'namespace' | 'name' | 'rule'>): ReportFinding {
  const mutating = overrides.rule === 'inject-prestop-delay' || overrides.rule === 'termination-message-fallback';
  return {
    kind: 'Deployment',
    container: 'app',
    type: mutating ? 'mutating' : 'validating',
    mode: 'enforce',
    message: 'something is wrong',
    fix: fixOf(overrides.rule),
    ...overrides,
  };
}

function report(findings: ReportFinding[], namespaces?: string[], objects = 10): AuditReport {
  return {
    generatedAt: '2026-03-14T09:26:53.000Z',
    cluster: 'https://127.0.0.1:6443',
    namespaces: namespaces ?? [...new Set(findings.map((item) => item.namespace))].sort(),
    findings,
    summary: summarize(objects, findings),
  };
}

const MALICIOUS_NAME = '<script>alert(1)</script>';
const QUOTES = `q"&'x`;

const sample = report(
  [
    finding({ namespace: 'payments', name: 'checkout', rule: 'no-shell-entrypoint', message: 'runs `sh -c` as PID 1' }),
    finding({ namespace: 'payments', name: 'ledger', rule: 'require-readiness-probe', mode: 'audit', message: 'has no readinessProbe' }),
    finding({ namespace: 'payments', name: 'ledger', rule: 'inject-prestop-delay', message: 'adds a preStop sleep of 5s' }),
    finding({
      namespace: 'shop',
      name: MALICIOUS_NAME,
      rule: 'no-shell-entrypoint',
      container: QUOTES,
      message: `a <b>bold</b> & "quoted" 'message'`,
    }),
    finding({
      namespace: 'batch',
      kind: 'CronJob',
      name: 'nightly',
      rule: 'termination-message-fallback',
      message: 'sets terminationMessagePolicy to FallbackToLogsOnError',
    }),
  ],
  ['batch', 'payments', 'quiet', 'shop'],
);

/** The HTML with the inline <style> and <script> removed: what remains is markup and text. */
function markupOnly(html: string): string {
  return html.replace(/<style>[\s\S]*?<\/style>/g, '').replace(/<script>[\s\S]*?<\/script>/g, '');
}

function chartOf(html: string): string {
  const match = /<svg[\s\S]*?<\/svg>/.exec(html);
  assert.ok(match, 'the report has an inline SVG chart');
  return match[0];
}

describe('renderHtmlReport', () => {
  const html = renderHtmlReport(sample);

  test('is one complete HTML document with the cluster and time in its title', () => {
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.match(html, /<\/html>\n$/);
    assert.match(html, /<title>[^<]*https:\/\/127\.0\.0\.1:6443[^<]*2026-03-14T09:26:53\.000Z<\/title>/);
    assert.equal(html.match(/<html/g)?.length, 1);
  });

  test('has the CSP meta tag that forbids loading anything', () => {
    assert.ok(
      html.includes(
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
      ),
    );
  });

  test('shows the summary counts', () => {
    const count = (key: string): string | undefined => new RegExp(`data-summary="${key}">(\\d+)<`).exec(html)?.[1];
    assert.equal(count('objects'), '10');
    assert.equal(count('findings'), '5');
    assert.equal(count('denied'), '2');
    assert.equal(count('warnings'), '1');
    assert.equal(count('mutations'), '2');
  });

  test('renders one table row per finding, with the fix', () => {
    const tbody = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
    assert.equal(tbody.match(/<tr /g)?.length, 5);
    for (const name of ['checkout', 'ledger', 'nightly']) assert.ok(tbody.includes(`>${name}<`), `row for ${name}`);
    assert.ok(tbody.includes('runs `sh -c` as PID 1'));
    assert.ok(tbody.includes(escapeHtml(fixOf('no-shell-entrypoint'))), 'the fix of no-shell-entrypoint');
    assert.ok(tbody.includes(escapeHtml(fixOf('termination-message-fallback'))));
    assert.ok(html.includes('<span id="shown-count">5</span> of 5 findings shown'));
  });

  test('the table is accessible: caption, th scope, labelled inputs', () => {
    assert.match(html, /<table id="findings">\n<caption[^>]*>[^<]+<\/caption>/);
    const headers = html.match(/<th scope="col"[^>]*>.*?<\/th>/g) ?? [];
    assert.deepEqual(
      headers.map((th) => /class="sort">([^<>]+)</.exec(th)?.[1]),
      ['Namespace', 'Kind', 'Name', 'Container', 'Rule', 'Mode', 'Message', 'Fix'],
    );
    for (const id of ['filter-text', 'filter-rule', 'filter-namespace']) {
      assert.ok(html.includes(`<label for="${id}">`), `label for #${id}`);
      assert.ok(html.includes(`id="${id}"`), `#${id}`);
    }
  });

  test('offers a rule filter and a namespace filter with every value present', () => {
    const select = (id: string): string => new RegExp(`<select id="${id}">([\\s\\S]*?)</select>`).exec(html)?.[1] ?? '';
    const values = (id: string): (string | undefined)[] => [...select(id).matchAll(/<option value="([^"]*)"/g)].map((match) => match[1]);
    assert.deepEqual(values('filter-rule'), [
      '',
      'no-shell-entrypoint',
      'require-readiness-probe',
      'inject-prestop-delay',
      'termination-message-fallback',
    ]);
    assert.deepEqual(values('filter-namespace'), ['', 'batch', 'payments', 'shop']);
  });

  test('escapes names, containers and messages everywhere', () => {
    const markup = markupOnly(html);
    assert.ok(!markup.includes(MALICIOUS_NAME), 'the raw <script> name is not in the markup');
    assert.ok(!markup.includes('<b>bold</b>'));
    assert.ok(!markup.includes(QUOTES));
    assert.equal(html.match(/<script/g)?.length, 1, 'only the report’s own script');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('q&quot;&amp;&#39;x'));
    assert.ok(html.includes('a &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; &#39;message&#39;'));
    // The chart's tooltips and attributes carry the same escaped text.
    assert.ok(chartOf(html).includes('data-namespace="shop"'));
  });

  test('escapes a malicious cluster name and namespace in the header, chart and selects', () => {
    const evil = report([finding({ namespace: `ns"><img src=x onerror=alert(1)>`, name: 'a', rule: 'no-shell-entrypoint' })]);
    evil.cluster = '</title><script>alert(2)</script>';
    const out = renderHtmlReport(evil);
    assert.ok(!out.includes('<img'));
    assert.ok(!out.includes('<script>alert(2)'));
    assert.ok(!out.includes('</title><script>'));
    assert.ok(out.includes('ns&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'));
  });

  test('references no external resource', () => {
    const urls = html.match(/https?:\/\/[^\s"'<>)]*/g) ?? [];
    const allowed = new Set(['http://www.w3.org/2000/svg', 'https://127.0.0.1:6443']);
    assert.deepEqual(
      urls.filter((url) => !allowed.has(url)),
      [],
    );
    // The cluster URL only appears as text, never as a link or a source.
    assert.doesNotMatch(html, /(?:src|href|action)\s*=\s*["']?(?:https?:)?\/\//i);
    assert.doesNotMatch(html, /@import|url\(/i);
    assert.doesNotMatch(html, /<link\b/i);
  });

  test('draws the chart server-side: one bar per namespace with findings, segments per rule, a legend', () => {
    const svg = chartOf(html);
    const bars = [...svg.matchAll(/<g class="bar" data-namespace="([^"]*)" data-total="(\d+)">/g)].map((match) => [match[1], match[2]]);
    // Sorted by count, then name; the namespace without findings gets no bar.
    assert.deepEqual(bars, [
      ['payments', '3'],
      ['batch', '1'],
      ['shop', '1'],
    ]);
    assert.equal(svg.match(/<rect class="segment"/g)?.length, 5);
    assert.match(svg, /role="img"/);
    const legend = /<ul class="legend">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';
    const entries = [...legend.matchAll(/<code>([^<]+)<\/code><span class="n">(\d+)<\/span>/g)].map((match) => [match[1], match[2]]);
    assert.deepEqual(entries, [
      ['no-shell-entrypoint', '2'],
      ['require-readiness-probe', '1'],
      ['inject-prestop-delay', '1'],
      ['termination-message-fallback', '1'],
    ]);
    assert.match(html, /1 namespace without findings: <code>quiet<\/code>/);
  });

  test('segments of a bar add up to its length and never overflow the plot', () => {
    const many = report(
      Array.from({ length: 37 }, (_, index) =>
        finding({ namespace: `ns-${index % 3}`, name: `w${index}`, rule: RULES[index % RULES.length]?.meta.id ?? 'x' }),
      ),
    );
    const svg = chartOf(renderHtmlReport(many));
    const width = Number(/viewBox="0 0 (\d+)/.exec(svg)?.[1]);
    for (const bar of svg.match(/<g class="bar"[\s\S]*?<\/g>/g) ?? []) {
      const rects = [...bar.matchAll(/x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((match) => [Number(match[1]), Number(match[2])]);
      for (let index = 1; index < rects.length; index++) {
        const [previousX = 0, previousWidth = 0] = rects[index - 1] ?? [];
        assert.ok(Math.abs((rects[index]?.[0] ?? 0) - (previousX + previousWidth)) < 0.05, 'segments are contiguous');
      }
      const [lastX = 0, lastWidth = 0] = rects[rects.length - 1] ?? [];
      assert.ok(lastX + lastWidth <= width, 'inside the chart');
    }
  });

  test('lists every rule with its id, title and why', () => {
    for (const { meta } of RULES) {
      assert.ok(html.includes(`id="rule-${meta.id}"`), meta.id);
      assert.ok(html.includes(escapeHtml(meta.title)), meta.title);
      assert.ok(html.includes(escapeHtml(meta.why)), `why of ${meta.id}`);
    }
  });

  test('an empty report says so, without a chart, table or script', () => {
    const out = renderHtmlReport(report([], ['default', 'shop'], 7));
    assert.match(out, /No findings/);
    assert.match(out, /7 objects in 2 namespaces/);
    assert.doesNotMatch(out, /<svg/);
    assert.doesNotMatch(out, /<table/);
    assert.doesNotMatch(out, /<script/);
    assert.match(out, /data-summary="findings">0</);
    assert.ok(out.includes(`id="rule-${RULES[0]?.meta.id}"`), 'still explains the rules');
  });
});

describe('escapeHtml', () => {
  test('escapes the five characters that matter in text and attributes', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.equal(escapeHtml('plain text'), 'plain text');
  });
});

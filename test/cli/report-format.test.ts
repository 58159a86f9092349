import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatJson, formatJsonPieces, formatTable, type Report } from '../../src/cli/report-format.js';
import { styleFor } from '../../src/cli/style.js';
import { summarize, type ReportFinding } from '../../src/engine/report.js';
import { reportFinding } from '../helpers/findings.js';

const ESC = '\u001b[';

const finding = (overrides: Partial<ReportFinding>): ReportFinding =>
  reportFinding({ file: 'a.yaml', line: 3, kind: 'Pod', container: 'app', ...overrides });

const findings = [
  finding({}),
  finding({ rule: 'require-readiness-probe', mode: 'audit', message: 'has no readinessProbe', fix: 'add one' }),
  finding({ rule: 'inject-prestop-delay', type: 'mutating', container: '', message: 'raises terminationGracePeriodSeconds' }),
  finding({
    file: 'b.yaml',
    line: 1,
    kind: 'Deployment',
    namespace: '',
    name: 'api',
    rule: 'termination-message-fallback',
    type: 'mutating',
    message: 'sets it',
  }),
];
const report: Report = { findings, summary: { files: 2, ...summarize(2, findings) } };

describe('styleFor: colours only on a terminal', () => {
  test('a terminal gets colours', () => {
    assert.ok(styleFor({ isTTY: true }, {}).red('x').includes(ESC));
  });
  test('not a terminal, NO_COLOR, or TERM=dumb: plain', () => {
    for (const [stream, env] of [
      [{ isTTY: false }, {}],
      [{}, {}],
      [{ isTTY: true }, { NO_COLOR: '1' }],
      [{ isTTY: true }, { NO_COLOR: '' }],
      [{ isTTY: true }, { TERM: 'dumb' }],
    ] as const) {
      const style = styleFor(stream, env);
      assert.equal(
        style.red('x') + style.yellow('y') + style.cyan('z') + style.bold('b') + style.dim('d'),
        'xyzbd',
        JSON.stringify([stream, env]),
      );
    }
  });
});

describe('formatTable', () => {
  test("plain: grouped by file, then object; markers; each validating rule's fix once, after the findings", () => {
    const text = formatTable(report, (f) => f.file ?? '', styleFor({ isTTY: false }, {}));
    assert.ok(!text.includes(ESC));
    assert.equal(
      text,
      [
        'a.yaml',
        '  Pod shop/web (line 3)',
        '    ✗ no-shell-entrypoint [enforce] container app: runs `sh -c` as PID 1',
        '    ! require-readiness-probe [audit] container app: has no readinessProbe',
        '    + inject-prestop-delay [enforce] raises terminationGracePeriodSeconds',
        'b.yaml',
        '  Deployment api (line 1)',
        '    + termination-message-fallback [enforce] container app: sets it',
        '',
        'How to fix',
        '  no-shell-entrypoint: use exec form',
        '  require-readiness-probe: add one',
        '',
        '2 object(s) checked: 1 denied (1 finding), 0 admitted with warnings (1 finding), 2 change(s) the mutating webhook makes (`lifecycle-guard fix` applies them)',
        '',
      ].join('\n'),
    );
  });

  test('coloured on a terminal', () => {
    assert.ok(formatTable(report, (f) => f.file ?? '', styleFor({ isTTY: true }, {})).includes(ESC));
  });

  test('no findings: only the summary line', () => {
    assert.equal(
      formatTable({ findings: [], summary: summarize(3, []) }, () => '', styleFor({}, {})),
      '3 object(s) checked: 0 denied (0 findings), 0 admitted with warnings (0 findings), 0 change(s) the mutating webhook makes\n',
    );
  });

  test('objects, not findings: two objects with three denials between them; the fix once per rule', () => {
    const denials = [
      finding({ name: 'a' }),
      finding({ name: 'a', rule: 'require-readiness-probe', fix: 'add one' }),
      finding({ name: 'b', line: 20 }),
      finding({ name: 'c', line: 40, mode: 'audit' }),
    ];
    const text = formatTable({ findings: denials, summary: summarize(5, denials) }, (f) => f.file ?? '', styleFor({}, {}));
    assert.match(text, /^5 object\(s\) checked: 2 denied \(3 findings\), 1 admitted with warnings \(1 finding\), /m);
    assert.equal(text.split('use exec form').length - 1, 1);
  });

  test('audit-mode mutations: marked as not applied, and counted apart from the changes fix applies', () => {
    const changes = [
      finding({ rule: 'inject-prestop-delay', type: 'mutating', mode: 'audit', message: 'adds a preStop sleep' }),
      finding({ rule: 'termination-message-fallback', type: 'mutating', message: 'sets it' }),
    ];
    const text = formatTable({ findings: changes, summary: summarize(1, changes) }, (f) => f.file ?? '', styleFor({}, {}));
    assert.match(text, /~ inject-prestop-delay \[audit: not applied\] container app: adds a preStop sleep/);
    assert.match(text, /\+ termination-message-fallback \[enforce\]/);
    assert.match(
      text,
      /1 change\(s\) the mutating webhook makes \(`lifecycle-guard fix` applies them\), 1 more in audit mode \(not applied\)$/m,
    );
    assert.doesNotMatch(text, /How to fix/);
  });

  test('skipped objects are listed with their reason, and counted apart from the checked ones', () => {
    const text = formatTable(
      {
        findings: [],
        summary: { ...summarize(3, []), skipped: 1 },
        skipped: [
          {
            file: 'ms.yaml',
            line: 4,
            kind: 'Deployment',
            namespace: 'kube-system',
            name: 'metrics-server',
            reason: 'excluded-namespace',
            detail: 'excluded',
          },
        ],
      },
      () => '',
      styleFor({}, {}),
    );
    assert.match(text, /Skipped \(not checked\)\n {2}ms\.yaml: Deployment kube-system\/metrics-server \(line 4\): excluded\n/);
    assert.match(text, /^2 object\(s\) checked, 1 skipped \(listed above\): 0 denied/m);
  });
});

describe('formatJson and summarize', () => {
  test('findings and summary, nothing else', () => {
    const parsed = JSON.parse(formatJson(report)) as Report;
    assert.deepEqual(parsed, report);
    assert.deepEqual(parsed.summary, {
      files: 2,
      objects: 2,
      findings: 4,
      denied: 1,
      warnings: 1,
      mutations: 2,
      deniedObjects: 1,
      warnedObjects: 0,
      appliedMutations: 2,
      auditMutations: 0,
      byRule: { 'no-shell-entrypoint': 1, 'require-readiness-probe': 1, 'inject-prestop-delay': 1, 'termination-message-fallback': 1 },
    });
  });

  test('written piece by piece, one piece per finding, it is exactly JSON.stringify of the report', () => {
    const withLists = {
      ...report,
      skipped: [],
      exceptions: undefined,
      uninspectedImages: [{ image: 'a "quoted"\nimage', reason: 'x', usedBy: ['Pod a/b'] }],
    } as Report;
    for (const value of [report, withLists, { findings: [], summary: report.summary } as Report]) {
      const pieces = [...formatJsonPieces(value)];
      assert.equal(pieces.join(''), `${JSON.stringify(value, null, 2)}\n`);
      assert.ok(pieces.length >= value.findings.length, 'a piece per finding at least');
    }
  });
});

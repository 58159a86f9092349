// fixManifests in-process: the text edits themselves (the CLI around it is tested in fix.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { fixManifests } from '../../src/cli/fix.js';
import { parseManifests } from '../../src/cli/manifests.js';
import { DEFAULT_POLICY } from '../../src/engine/policy.js';

const fixText = (path: string, text: string) => fixManifests(parseManifests(path, text), DEFAULT_POLICY);

describe('fixManifests', () => {
  test('only the changed lines differ: formatting, quoting, comments and long strings stay byte for byte', () => {
    const text = [
      '# a header comment   with odd   spacing',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: web,   namespace: "shop"}',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        -   name: web   # extra spaces after the dash',
      '            image:   "nginx:1.27"',
      '            args: ["--a", \'--b\']',
      '            env:',
      '            - {name: LONG, value: "a very long value that a YAML printer would fold at eighty columns, but it must stay on one line"}',
      '            readinessProbe: {tcpSocket: {port: 80}}',
      '        - name: sidecar',
      '          image: envoy',
      '          readinessProbe:',
      '            httpGet: {path: /ready, port: 9901}',
      '          lifecycle:',
      '            postStart: {exec: {command: [touch, /tmp/started]}}',
      '      # trailing comment of the pod spec',
      '',
    ].join('\n');
    const fixed = fixText('web.yaml', text);
    const added = fixed.text.split('\n').filter((line) => !text.split('\n').includes(line));
    assert.deepEqual(added, [
      '            lifecycle:',
      '              preStop:',
      '                sleep:',
      '                  seconds: 5',
      '            terminationMessagePolicy: FallbackToLogsOnError',
      '            preStop:',
      '              sleep:',
      '                seconds: 5',
      '          terminationMessagePolicy: FallbackToLogsOnError',
    ]);
    const removedAgain = fixed.text
      .split('\n')
      .filter((line) => !added.includes(line))
      .join('\n');
    assert.equal(removedAgain, text, 'every original line is kept, in order, untouched');
    const sidecar = parse(fixed.text).spec.template.spec.containers[1];
    assert.deepEqual(sidecar.lifecycle, {
      postStart: { exec: { command: ['touch', '/tmp/started'] } },
      preStop: { sleep: { seconds: 5 } },
    });
  });

  test('a replaced value keeps its trailing comment', () => {
    const text = [
      'kind: Pod',
      'metadata: {name: p}',
      'spec:',
      '  terminationGracePeriodSeconds: 5 # keep me',
      '  containers:',
      '  - name: c',
      '    # above the policy',
      '    terminationMessagePolicy: File # the default',
      '',
    ].join('\n');
    const fixed = fixText('p.yaml', text);
    assert.equal(fixed.changes, 3);
    assert.match(fixed.text, /terminationGracePeriodSeconds: 15 # keep me\n/);
    assert.match(fixed.text, / {4}# above the policy\n {4}terminationMessagePolicy: FallbackToLogsOnError # the default\n/);
  });

  test('sequences flush with their key stay flush; indented ones stay indented', () => {
    const flush = 'kind: Pod\nspec:\n  containers:\n  - name: c\n';
    assert.match(fixText('f.yaml', flush).text, /^ {2}containers:\n {2}- name: c\n/m);
    const indented = 'kind: Pod\nspec:\n  containers:\n    - name: c\n';
    assert.match(fixText('i.yaml', indented).text, /^ {2}containers:\n {4}- name: c\n/m);
  });

  test('flow-style YAML that is not JSON stays YAML, with its comments', () => {
    const fixed = fixText('-', '{kind: Pod, spec: {containers: [{name: c}]}} # note\n');
    assert.match(fixed.text, /# note/);
    assert.doesNotMatch(fixed.text, /"kind"/);
  });

  test('JSON on stdin stays JSON', () => {
    const fixed = fixText('-', '{"kind": "Pod", "spec": {"containers": [{"name": "c"}]}}');
    assert.equal(
      (JSON.parse(fixed.text) as { spec: { containers: { terminationMessagePolicy: string }[] } }).spec.containers[0]
        ?.terminationMessagePolicy,
      'FallbackToLogsOnError',
    );
  });

  test('aliases: every use is fixed on its own (a Job sharing a container with a Deployment keeps no preStop)', () => {
    const text = [
      'kind: List',
      'items:',
      '- kind: Deployment',
      '  metadata: {name: d}',
      '  spec: {template: {spec: {containers: [&c {name: c, image: x}]}}}',
      '- kind: Job',
      '  metadata: {name: j}',
      '  spec: {template: {spec: {restartPolicy: Never, containers: [*c]}}}',
      '',
    ].join('\n');
    const fixed = parse(fixText('a.yaml', text).text) as {
      items: { spec: { template: { spec: { containers: Record<string, unknown>[] } } } }[];
    };
    const [deployment, job] = fixed.items.map((item) => item.spec.template.spec.containers[0]);
    assert.deepEqual(deployment, {
      name: 'c',
      image: 'x',
      lifecycle: { preStop: { sleep: { seconds: 5 } } },
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
    assert.deepEqual(job, { name: 'c', image: 'x', terminationMessagePolicy: 'FallbackToLogsOnError' });
  });

  test('nothing to change: the text is returned as it is', () => {
    const text = 'kind: Service # not a workload\nmetadata: {name: s}\n';
    assert.deepEqual(fixText('s.yaml', text), { path: 's.yaml', text, changes: 0, errors: [] });
  });
});

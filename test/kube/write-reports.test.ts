import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { writeReports } from '../../src/kube/reports.js';
import { reportFinding, scanReport } from '../helpers/findings.js';
import { apiError, FakeApiServer } from './fake-api.js';

const POLICY_REPORTS = 'policyreports.wgpolicyk8s.io';
const OPEN_REPORTS = 'reports.openreports.io';
const logger = pino({ level: 'silent' });

const finding = (namespace: string) => reportFinding({ namespace, apiVersion: 'apps/v1', uid: `uid-${namespace}` });

function managedReport(namespace: string) {
  return { metadata: { name: 'lifecycle-guard', namespace, labels: { 'app.kubernetes.io/managed-by': 'lifecycle-guard' } }, results: [] };
}

const namespacesOf = (api: FakeApiServer, resource: string) =>
  api
    .list(resource)
    .map((report) => `${report.metadata?.namespace}/${report.metadata?.name}`)
    .sort();

describe('writeReports against a fake API server', () => {
  test('creates one report per namespace, then updates the same object in place', async () => {
    const api = new FakeApiServer();
    assert.deepEqual(await writeReports(api.clients(), scanReport([finding('shop')], { shop: 2, pay: 1 }), 'PolicyReport', logger), {
      written: 2,
      deleted: 0,
    });
    const before = api.get(POLICY_REPORTS, 'shop', 'lifecycle-guard');
    assert.equal((before?.summary as { fail: number }).fail, 1);
    await writeReports(api.clients(), scanReport([], { shop: 2, pay: 1 }), 'PolicyReport', logger);
    const after = api.get(POLICY_REPORTS, 'shop', 'lifecycle-guard');
    assert.equal(after?.metadata?.uid, before?.metadata?.uid, 'the same object, not a new one');
    assert.equal((after?.summary as { fail: number; pass: number }).fail, 0);
    assert.equal((after?.summary as { fail: number; pass: number }).pass, 2);
    assert.deepEqual(namespacesOf(api, POLICY_REPORTS), ['pay/lifecycle-guard', 'shop/lifecycle-guard']);
  });

  test('deletes its reports in namespaces gone from the scan and every report of the other format; leaves others’ reports', async () => {
    const api = new FakeApiServer();
    api.put(POLICY_REPORTS, managedReport('gone'));
    api.put(POLICY_REPORTS, { metadata: { name: 'kyverno-polr', namespace: 'gone' }, results: [] });
    api.put(OPEN_REPORTS, managedReport('shop'));
    const result = await writeReports(api.clients(), scanReport([], { shop: 1 }), 'PolicyReport', logger);
    assert.deepEqual(result, { written: 1, deleted: 2 });
    assert.deepEqual(namespacesOf(api, POLICY_REPORTS), ['gone/kyverno-polr', 'shop/lifecycle-guard']);
    assert.deepEqual(namespacesOf(api, OPEN_REPORTS), []);
  });

  test('the other format’s CRD not installed (404 on its list) is not an error', async () => {
    const api = new FakeApiServer();
    api.onCall((call) => {
      if (call.resource === OPEN_REPORTS) throw apiError(404, 'the server could not find the requested resource');
    });
    assert.deepEqual(await writeReports(api.clients(), scanReport([], { shop: 1 }), 'PolicyReport', logger), { written: 1, deleted: 0 });
  });

  test('a report created by another writer in between (409 on create) is read again and replaced', async () => {
    const api = new FakeApiServer();
    let raced = false;
    api.onCall((call) => {
      if (raced || call.verb !== 'create') return;
      raced = true;
      api.put(POLICY_REPORTS, managedReport(call.namespace));
    });
    assert.deepEqual(await writeReports(api.clients(), scanReport([finding('shop')], { shop: 1 }), 'PolicyReport', logger), {
      written: 1,
      deleted: 0,
    });
    assert.equal((api.get(POLICY_REPORTS, 'shop', 'lifecycle-guard')?.results as unknown[]).length, 1, 'this scan’s results won');
  });

  test('a conflict on every write: gives up after three attempts with the API error', async () => {
    const api = new FakeApiServer();
    api.put(POLICY_REPORTS, managedReport('shop'));
    api.onCall((call) => {
      if (call.verb === 'replace') throw apiError(409, 'the object has been modified');
    });
    await assert.rejects(writeReports(api.clients(), scanReport([], { shop: 1 }), 'PolicyReport', logger), /the object has been modified/);
    assert.equal(api.calls.filter((call) => call.verb === 'replace').length, 3);
  });

  test('OpenReports go to openreports.io and remove the PolicyReports', async () => {
    const api = new FakeApiServer();
    await writeReports(api.clients(), scanReport([], { shop: 1 }), 'PolicyReport', logger);
    assert.deepEqual(await writeReports(api.clients(), scanReport([], { shop: 1 }), 'OpenReports', logger), { written: 1, deleted: 1 });
    assert.equal(api.get(OPEN_REPORTS, 'shop', 'lifecycle-guard')?.kind, 'Report');
    assert.deepEqual(namespacesOf(api, POLICY_REPORTS), []);
  });
});

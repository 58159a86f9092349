import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanImageLookup } from '../../src/cli/images.js';
import type { ImageInspection } from '../../src/core/images.js';
import { policyFromObject } from '../../src/engine/policy.js';
import { selectRules } from '../../src/engine/select.js';
import { ImageInspector } from '../../src/images/inspector.js';
import type { ImageInspectionParams } from '../../src/rules/no-shell-entrypoint.js';
import { FakeApiServer } from '../kube/fake-api.js';

/** Records the credentials each lookup was given, and inspects nothing. */
class RecordingInspector extends ImageInspector {
  readonly credentials: unknown[] = [];

  override inspect(
    images: readonly string[],
    _settings: ImageInspectionParams,
    options: Parameters<ImageInspector['inspect']>[2] = {},
  ): Promise<Map<string, ImageInspection>> {
    this.credentials.push(options.credentials);
    return Promise.resolve(new Map(images.map((image) => [image, { status: 'uninspected', reference: image, reason: 'not looked up' }])));
  }
}

test('imagePullSecrets of a kind the policy adds (workloadKinds) are read, as for the built-in kinds', async () => {
  const policy = policyFromObject(
    {
      workloadKinds: [
        { kind: 'CloneSet', group: 'apps.kruise.io', version: 'v1alpha1', resource: 'clonesets', podSpecPath: 'spec.template.spec' },
      ],
      rules: { 'no-shell-entrypoint': { images: { pullSecrets: true } } },
    },
    'test policy',
  );
  const api = new FakeApiServer();
  const dockerConfig = JSON.stringify({ auths: { 'registry.example:5000': { username: 'alice', password: 'wonderland' } } });
  api.put('secrets', {
    metadata: { namespace: 'shop', name: 'regcred' },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(dockerConfig).toString('base64') },
  });
  const inspector = new RecordingInspector();
  const lookUp = scanImageLookup({ inspector, clients: api.clients() }, () => policy);
  const cloneSet = {
    apiVersion: 'apps.kruise.io/v1alpha1',
    kind: 'CloneSet',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      template: {
        spec: { imagePullSecrets: [{ name: 'regcred' }], containers: [{ name: 'web', image: 'registry.example:5000/shop/web:1' }] },
      },
    },
  };
  const facts = await lookUp(cloneSet, 'shop', selectRules(cloneSet, policy));
  assert.deepEqual([...facts.keys()], ['registry.example:5000/shop/web:1']);
  assert.equal(inspector.credentials.length, 1);
  const credentials = inspector.credentials[0];
  assert.ok(credentials instanceof Map, 'the lookup got the pull secret credentials');
  assert.deepEqual(credentials.get('registry.example:5000'), { username: 'alice', password: 'wonderland' });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseChallenge, parseDockerConfig } from '../../src/images/auth.js';
import { apiHost, parseReference } from '../../src/images/reference.js';

describe('image references, with Docker Hub defaults', () => {
  const cases: [string, ReturnType<typeof parseReference>][] = [
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['index.docker.io/library/nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['ghcr.io/org/team/app:v1', { registry: 'ghcr.io', repository: 'org/team/app', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['127.0.0.1:5000/shop/web:1', { registry: '127.0.0.1:5000', repository: 'shop/web', tag: '1' }],
    ['registry:5000/web', { registry: 'registry:5000', repository: 'web', tag: 'latest' }],
    [`app@sha256:${'a'.repeat(64)}`, { registry: 'docker.io', repository: 'library/app', digest: `sha256:${'a'.repeat(64)}` }],
    [`quay.io/x/y:1@sha256:${'b'.repeat(64)}`, { registry: 'quay.io', repository: 'x/y', tag: '1', digest: `sha256:${'b'.repeat(64)}` }],
  ];
  for (const [image, expected] of cases) {
    test(image.length > 40 ? `${image.slice(0, 40)}…` : image, () => assert.deepEqual(parseReference(image), expected));
  }

  test('invalid references are refused with what is wrong', () => {
    assert.throws(() => parseReference('Nginx'), /invalid repository/);
    assert.throws(() => parseReference('nginx:'), /invalid tag/);
    assert.throws(() => parseReference('nginx@sha256:xyz'), /invalid digest/);
    assert.throws(() => parseReference(''), /invalid repository/);
    assert.throws(() => parseReference('a..b.io/x'), /invalid registry/);
  });

  test("Docker Hub's API is on registry-1.docker.io", () => {
    assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(apiHost('ghcr.io'), 'ghcr.io');
  });
});

describe('WWW-Authenticate challenges', () => {
  test('bearer with quoted parameters, commas inside quotes', () => {
    assert.deepEqual(
      parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'),
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
      },
    );
  });

  test('basic, with spaces and an unquoted value', () => {
    assert.deepEqual(parseChallenge('Basic realm=registry , charset="UTF-8"'), {
      scheme: 'basic',
      params: { realm: 'registry', charset: 'UTF-8' },
    });
  });
});

describe('docker config files', () => {
  test('auth, username/password, URL keys and Docker Hub aliases', () => {
    const config = parseDockerConfig(
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:pa:ss').toString('base64') },
          'https://registry.example:5000/v2/': { username: 'u', password: 'p' },
          'empty.example': {},
        },
        credsStore: 'desktop',
      }),
      'test',
    );
    assert.deepEqual(Object.fromEntries(config), {
      'docker.io': { username: 'hub', password: 'pa:ss' },
      'registry.example:5000': { username: 'u', password: 'p' },
    });
  });

  test('a legacy .dockercfg (auths at the top level) and invalid JSON', () => {
    assert.deepEqual(
      Object.fromEntries(parseDockerConfig(JSON.stringify({ 'r.example': { auth: Buffer.from('a:b').toString('base64') } }), 'x')),
      { 'r.example': { username: 'a', password: 'b' } },
    );
    assert.throws(() => parseDockerConfig('{', 'cfg.json'), /invalid docker config cfg\.json/);
  });
});

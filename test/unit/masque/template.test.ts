import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultIpTemplate, defaultUdpTemplate, expandTemplate, expandTemplatePath, matchTemplatePath, parseUriTemplate,
  percentDecode, percentEncode,
} from '../../../src/masque/template.js';
import { TemplateError } from '../../../src/masque/errors.js';

test('RFC 9298 §2 published templates expand and match back', () => {
  const cases: [string, string][] = [
    ['https://example.org/.well-known/masque/udp/{target_host}/{target_port}/', '/.well-known/masque/udp/192.0.2.6/443/'],
    ['https://proxy.example.org:4443/masque?h={target_host}&p={target_port}', '/masque?h=192.0.2.6&p=443'],
    ['https://proxy.example.org:4443/masque{?target_host,target_port}', '/masque?target_host=192.0.2.6&target_port=443'],
  ];
  for (const [raw, path] of cases) {
    const t = parseUriTemplate(raw, 'udp');
    const vars = { target_host: '192.0.2.6', target_port: 443 };
    assert.equal(expandTemplatePath(t, vars), path);
    assert.deepEqual(matchTemplatePath(t, path), { target_host: '192.0.2.6', target_port: '443' });
  }
  const t = parseUriTemplate(cases[0][0], 'udp');
  assert.equal(expandTemplate(t, { target_host: '192.0.2.6', target_port: 443 }),
    'https://example.org/.well-known/masque/udp/192.0.2.6/443/');
});

test('RFC 9298 §2: IPv6 colons are percent-encoded and decoded back', () => {
  const t = parseUriTemplate(defaultUdpTemplate('proxy:4443'), 'udp');
  const path = expandTemplatePath(t, { target_host: '2001:db8::42', target_port: 53 });
  assert.equal(path, '/.well-known/masque/udp/2001%3Adb8%3A%3A42/53/');
  assert.deepEqual(matchTemplatePath(t, path), { target_host: '2001:db8::42', target_port: '53' });
  // lower-case hex from other clients decodes too
  assert.equal(matchTemplatePath(t, '/.well-known/masque/udp/2001%3adb8%3a%3a42/53/')?.target_host, '2001:db8::42');
});

test('RFC 9484 §3 published templates expand and match back', () => {
  const vars = { target: '192.0.2.0/24', ipproto: 17 };
  const cases: [string, string][] = [
    ['https://example.org/.well-known/masque/ip/{target}/{ipproto}/', '/.well-known/masque/ip/192.0.2.0%2F24/17/'],
    ['https://proxy.example.org:4443/masque/ip?t={target}&i={ipproto}', '/masque/ip?t=192.0.2.0%2F24&i=17'],
    ['https://proxy.example.org:4443/masque/ip{?target,ipproto}', '/masque/ip?target=192.0.2.0%2F24&ipproto=17'],
  ];
  for (const [raw, path] of cases) {
    const t = parseUriTemplate(raw, 'ip');
    assert.equal(expandTemplatePath(t, vars), path);
    assert.deepEqual(matchTemplatePath(t, path), { target: '192.0.2.0/24', ipproto: '17' });
  }
  const bob = parseUriTemplate('https://masque.example.org/?user=bob', 'ip');
  assert.equal(expandTemplatePath(bob, {}), '/?user=bob');
  assert.deepEqual(matchTemplatePath(bob, '/?user=bob'), {});
  assert.equal(matchTemplatePath(bob, '/?user=eve'), null);
  const def = parseUriTemplate(defaultIpTemplate('example.org'), 'ip');
  assert.deepEqual(matchTemplatePath(def, '/.well-known/masque/ip/*/*/'), { target: '*', ipproto: '*' });
});

test('query operator: undefined variables are omitted (RFC 6570 §3.2.8)', () => {
  const t = parseUriTemplate('https://p.example/ip{?target,ipproto}', 'ip');
  assert.equal(expandTemplatePath(t, { ipproto: 6 }), '/ip?ipproto=6');
  assert.equal(expandTemplatePath(t, {}), '/ip');
  assert.deepEqual(matchTemplatePath(t, '/ip?ipproto=6'), { ipproto: '6' });
  assert.deepEqual(matchTemplatePath(t, '/ip'), {});
  assert.equal(matchTemplatePath(t, '/ip?ipproto=6&target=x'), null, 'out of order');
  assert.equal(matchTemplatePath(t, '/ip?other=1'), null);
  const amp = parseUriTemplate('https://p.example/u?x=1{&target_host,target_port}', 'udp');
  assert.equal(expandTemplatePath(amp, { target_host: 'a.b', target_port: 1 }), '/u?x=1&target_host=a.b&target_port=1');
  assert.deepEqual(matchTemplatePath(amp, '/u?x=1&target_host=a.b&target_port=1'), { target_host: 'a.b', target_port: '1' });
});

test('paths of another shape do not match', () => {
  const t = parseUriTemplate(defaultUdpTemplate('example.org'), 'udp');
  for (const p of ['/', '/.well-known/masque/udp/a/1', '/.well-known/masque/udp/a/b/c/', '/.well-known/masque/udp/a/1/?x',
    '/.well-known/masque/udp/a%zz/1/', '/.well-known/masque/udp/%ff/1/']) {
    assert.equal(matchTemplatePath(t, p), null, p);
  }
});

test('invalid templates are refused with stable codes', () => {
  const bad: [string, string, ('udp' | 'ip')?][] = [
    ['http://example.org/{target_host}/{target_port}', 'ERR_TEMPLATE_NOT_HTTPS'],
    ['/masque/{target_host}/{target_port}', 'ERR_TEMPLATE_NOT_HTTPS'],
    ['https://example.org/{+target_host}/{target_port}', 'ERR_TEMPLATE_OPERATOR'],
    ['https://example.org/{#target_host}/{target_port}', 'ERR_TEMPLATE_OPERATOR'],
    ['https://example.org/x{.target_host}{/target_port}', 'ERR_TEMPLATE_OPERATOR'],
    ['https://example.org/x{;target_host,target_port}', 'ERR_TEMPLATE_OPERATOR'],
    ['https://example.org/{target_host:3}/{target_port}', 'ERR_TEMPLATE_OPERATOR'],
    ['https://example.org/{target_host*}/{target_port}', 'ERR_TEMPLATE_OPERATOR'],
    ['https://example.org/{target_host}/', 'ERR_TEMPLATE_MISSING_VARIABLE', 'udp'],
    ['https://example.org/{target_port}/', 'ERR_TEMPLATE_MISSING_VARIABLE', 'udp'],
    ['https://example.org/{target_host/{target_port}', 'ERR_TEMPLATE_SYNTAX'],
    ['https://example.org/target_host}/{target_port}', 'ERR_TEMPLATE_SYNTAX'],
    ['https://example.org/{a-b}', 'ERR_TEMPLATE_SYNTAX'],
    ['https://example.org/{}', 'ERR_TEMPLATE_SYNTAX'],
    ['https://example.org/{target}/{target}/', 'ERR_TEMPLATE_SYNTAX', 'ip'],
    ['https://example.org/ {target_host}/{target_port}', 'ERR_TEMPLATE_CHARSET'],
    ['https://example.org/é/{target_host}/{target_port}', 'ERR_TEMPLATE_CHARSET'],
    ['https://example.org/a#b/{target_host}/{target_port}', 'ERR_TEMPLATE_CHARSET'],
    ['https://{relay}/{target_host}/{target_port}', 'ERR_TEMPLATE_AUTHORITY'],
    ['https:///{target_host}/{target_port}', 'ERR_TEMPLATE_AUTHORITY'],
    ['https://example.org', 'ERR_TEMPLATE_AUTHORITY'],
  ];
  for (const [raw, code, kind] of bad) {
    assert.throws(() => parseUriTemplate(raw, kind ?? 'udp'), (e: unknown) => e instanceof TemplateError && e.code === code, raw);
  }
  // CONNECT-IP variables are optional (RFC 9484 §3)
  assert.doesNotThrow(() => parseUriTemplate('https://example.org/vpn', 'ip'));
});

test('percent-encoding: everything outside unreserved, UTF-8, upper-case hex', () => {
  assert.equal(percentEncode("a-._~!*'()/:@ é"), "a-._~%21%2A%27%28%29%2F%3A%40%20%C3%A9");
  assert.equal(percentDecode('%C3%A9%2f'), 'é/');
  assert.equal(percentDecode('%'), null);
  assert.equal(percentDecode('%C3'), null, 'invalid UTF-8');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldLine } from '../../../src/h3/qpack/types.js';
import {
  parseCapsuleProtocol, parseIpProto, parseIpTarget, parseProxyRequest, parseTargetHost, parseTargetPort,
  type ProxyRequestOptions,
} from '../../../src/masque/proxy-request.js';
import { ProxyRequestError } from '../../../src/masque/errors.js';
import { defaultIpTemplate, defaultUdpTemplate, parseUriTemplate } from '../../../src/masque/template.js';
import { formatIpPrefix } from '../../../src/masque/ip-prefix.js';

const opts: ProxyRequestOptions = {
  udpTemplate: parseUriTemplate(defaultUdpTemplate('example.org'), 'udp'),
  ipTemplate: parseUriTemplate(defaultIpTemplate('example.org'), 'ip'),
};

/** RFC 9298 §3.4 published request, fields in order. */
const udpFields = (path = '/.well-known/masque/udp/192.0.2.6/443/'): FieldLine[] => [
  [':method', 'CONNECT'], [':protocol', 'connect-udp'], [':scheme', 'https'], [':path', path],
  [':authority', 'example.org'], ['capsule-protocol', '?1'],
];
/** RFC 9484 §4.4 published request. */
const ipFields = (path = '/.well-known/masque/ip/*/*/'): FieldLine[] => [
  [':method', 'CONNECT'], [':protocol', 'connect-ip'], [':scheme', 'https'], [':path', path],
  [':authority', 'example.org'], ['capsule-protocol', '?1'],
];

const refuses = (fields: FieldLine[], code: string, status: number, o = opts) =>
  assert.throws(() => parseProxyRequest(fields, o), (e: unknown) => {
    assert.ok(e instanceof ProxyRequestError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.httpStatus, status);
    assert.equal(e.proxyStatusError, 'http_request_error');
    return true;
  });

const replace = (fields: FieldLine[], name: string, value: string | null): FieldLine[] =>
  value === null ? fields.filter(([n]) => n !== name) : fields.map(([n, v]) => [n, n === name ? value : v]);

test('RFC 9298 §3.4 published CONNECT-UDP request', () => {
  assert.deepEqual(parseProxyRequest(udpFields(), opts), {
    protocol: 'connect-udp', authority: 'example.org', path: '/.well-known/masque/udp/192.0.2.6/443/',
    targetHost: '192.0.2.6', targetHostKind: 'ipv4', targetPort: 443, hasCapsuleProtocol: true,
  });
});

test('CONNECT-UDP: IPv6 literal percent-encoded, DNS names', () => {
  const r = parseProxyRequest(udpFields('/.well-known/masque/udp/2001%3ADB8%3A%3A42/53/'), opts);
  assert.equal(r.protocol === 'connect-udp' && r.targetHost, '2001:db8::42');
  assert.equal(r.protocol === 'connect-udp' && r.targetHostKind, 'ipv6');
  const d = parseProxyRequest(udpFields('/.well-known/masque/udp/Example.COM/8443/'), opts);
  assert.equal(d.protocol === 'connect-udp' && d.targetHost, 'example.com');
});

test('RFC 9484 §4.4 published CONNECT-IP request and targets', () => {
  const r = parseProxyRequest(ipFields(), opts);
  assert.deepEqual(r, { protocol: 'connect-ip', authority: 'example.org', path: '/.well-known/masque/ip/*/*/',
    target: { kind: 'any' }, ipProto: null, hasCapsuleProtocol: true });
  const p = parseProxyRequest(ipFields('/.well-known/masque/ip/2001%3Adb8%3A%3A%2F32/17/'), opts);
  assert.ok(p.protocol === 'connect-ip' && p.target.kind === 'prefix');
  assert.equal(p.protocol === 'connect-ip' && p.target.kind === 'prefix' && formatIpPrefix(p.target.prefix), '2001:db8::/32');
  assert.equal(p.protocol === 'connect-ip' && p.ipProto, 17);
  // §8.1 example: a template with no variables (`/vpn`) → wildcard target and protocol
  const vpn = { ipTemplate: parseUriTemplate('https://proxy.example.com/vpn', 'ip') };
  const f = replace(replace(ipFields('/vpn'), ':authority', 'proxy.example.com'), ':path', '/vpn');
  assert.deepEqual((parseProxyRequest(f, vpn) as { target: unknown }).target, { kind: 'any' });
});

test('status table: 405 method, 501 protocol, 400 scheme/authority/capsule, 404 path', () => {
  refuses(replace(udpFields(), ':method', 'GET'), 'ERR_PROXY_METHOD', 405);
  refuses(replace(udpFields(), ':method', null), 'ERR_PROXY_METHOD', 405);
  refuses(replace(udpFields(), ':protocol', 'websocket'), 'ERR_PROXY_PROTOCOL', 501);
  refuses(replace(udpFields(), ':protocol', null), 'ERR_PROXY_PROTOCOL', 501);
  refuses(udpFields(), 'ERR_PROXY_PROTOCOL', 501, { ipTemplate: opts.ipTemplate });
  refuses(replace(udpFields(), ':scheme', 'http'), 'ERR_PROXY_SCHEME', 400);
  refuses(replace(udpFields(), ':authority', 'evil.example'), 'ERR_PROXY_AUTHORITY', 400);
  refuses(replace(udpFields(), ':authority', null), 'ERR_PROXY_AUTHORITY', 400);
  refuses(replace(udpFields(), 'capsule-protocol', null), 'ERR_PROXY_CAPSULE_PROTOCOL', 400);
  refuses(replace(udpFields(), 'capsule-protocol', '?0'), 'ERR_PROXY_CAPSULE_PROTOCOL', 400);
  refuses(udpFields('/other'), 'ERR_PROXY_PATH', 404);
  refuses(replace(udpFields(), ':path', null), 'ERR_PROXY_PATH', 404);
  // the authority check normalises case and :443, and can be turned off
  assert.doesNotThrow(() => parseProxyRequest(replace(udpFields(), ':authority', 'EXAMPLE.org:443'), opts));
  assert.doesNotThrow(() => parseProxyRequest(replace(udpFields(), ':authority', 'x'), { ...opts, isAuthorityChecked: false }));
  const noCp = parseProxyRequest(replace(udpFields(), 'capsule-protocol', null), { ...opts, isCapsuleProtocolRequired: false });
  assert.equal(noCp.hasCapsuleProtocol, false);
});

test('malformed field sections → 400 ERR_PROXY_MALFORMED', () => {
  refuses([...udpFields(), [':method', 'CONNECT']], 'ERR_PROXY_MALFORMED', 400); // pseudo after regular / dup
  refuses([[':status', '200'], ...udpFields()], 'ERR_PROXY_MALFORMED', 400);
  refuses([...udpFields(), ['content-length', '0']], 'ERR_PROXY_MALFORMED', 400); // RFC 9297 §3.2
  refuses([...udpFields(), ['Capsule-Protocol', '?1']], 'ERR_PROXY_MALFORMED', 400);
});

test('bad target values → 400', () => {
  const udp = (h: string, p: string) => udpFields(`/.well-known/masque/udp/${h}/${p}/`);
  refuses(udp('', '443'), 'ERR_PROXY_TARGET_HOST', 400);
  refuses(udp('fe80%3A%3A1%25eth0', '443'), 'ERR_PROXY_TARGET_HOST', 400); // zone id
  refuses(udp('bad_-.example..', '443'), 'ERR_PROXY_TARGET_HOST', 400);
  refuses(udp('192.0.2.6', '0'), 'ERR_PROXY_TARGET_PORT', 400);
  refuses(udp('192.0.2.6', '65536'), 'ERR_PROXY_TARGET_PORT', 400);
  refuses(udp('192.0.2.6', ''), 'ERR_PROXY_TARGET_PORT', 400);
  const ip = (t: string, p: string) => ipFields(`/.well-known/masque/ip/${t}/${p}/`);
  refuses(ip('192.0.2.1%2F24', '*'), 'ERR_PROXY_IP_TARGET', 400); // host bits set
  refuses(ip('192.0.2.0%2F33', '*'), 'ERR_PROXY_IP_TARGET', 400);
  refuses(ip('*', '256'), 'ERR_PROXY_IPPROTO', 400);
  refuses(ip('*', '-1'), 'ERR_PROXY_IPPROTO', 400);
});

test('target_host / target_port / target / ipproto parsers', () => {
  assert.deepEqual(parseTargetHost('2001:db8:0:0::42'), { host: '2001:db8::42', kind: 'ipv6' });
  assert.deepEqual(parseTargetHost('[::1]'), { host: '::1', kind: 'ipv6' });
  assert.deepEqual(parseTargetHost('a-b.example.'), { host: 'a-b.example.', kind: 'dns' });
  for (const bad of ['1.2.3', '01.2.3.4', '[1.2.3.4]', '-a.example', 'a'.repeat(64) + '.com', 'a b', 'fe80::1%1']) {
    assert.throws(() => parseTargetHost(bad), { code: 'ERR_PROXY_TARGET_HOST' }, bad);
  }
  assert.equal(parseTargetPort('65535'), 65535);
  for (const bad of ['080', '+80', '1e3', '99999']) assert.throws(() => parseTargetPort(bad), { code: 'ERR_PROXY_TARGET_PORT' });
  assert.deepEqual(parseIpTarget('vpn.example'), { kind: 'dns', host: 'vpn.example' });
  assert.equal(parseIpTarget('192.0.2.1').kind, 'prefix');
  assert.equal(parseIpProto('0'), 0);
  assert.equal(parseIpProto('255'), 255);
  assert.throws(() => parseIpProto('06'), { code: 'ERR_PROXY_IPPROTO' });
});

test('Capsule-Protocol is an RFC 8941 Boolean item (RFC 9297 §3.4)', () => {
  const cases: [string, boolean][] = [
    ['?1', true], ['?1;foo=bar', true], ['  ?1 ', true], ['?1;a;b=?0;c="x y";d=1.5;e=:AQ==:', true],
    ['?0', false], ['?0;foo', false], ['1', false], ['"?1"', false], ['true', false], ['', false],
    ['?1, ?1', false], ['?1;FOO=1', false], ['?2', false], ['?1;', false], ['?1 ;a', false],
  ];
  for (const [v, want] of cases) assert.equal(parseCapsuleProtocol(v), want, JSON.stringify(v));
  // two field lines combine into a list → not a Boolean item → treated as absent
  refuses([...udpFields(), ['capsule-protocol', '?1']], 'ERR_PROXY_CAPSULE_PROTOCOL', 400);
});

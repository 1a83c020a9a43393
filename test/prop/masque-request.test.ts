/**
 * Property tests for the proxy request parser against the client's request builder:
 * - what our client sends (every template form, any target) parses back to the same target;
 * - any field section or :path gives a request or a ProxyRequestError with a refusal status,
 *   never another exception (so the proxy never throws for peer input).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildTunnelRequestFields } from '../../src/masque/connect-udp-client.js';
import { parseProxyRequest, type ConnectIpRequest, type ConnectUdpRequest } from '../../src/masque/proxy-request.js';
import { ProxyRequestError } from '../../src/masque/errors.js';
import { parseUriTemplate } from '../../src/masque/template.js';
import { formatIpAddress, formatIpPrefix, maskBytes } from '../../src/masque/ip-prefix.js';
import type { FieldLine } from '../../src/h3/qpack/types.js';

const RUNS = { numRuns: 400 };
const UDP_TEMPLATES = [
  'https://example.org/.well-known/masque/udp/{target_host}/{target_port}/',
  'https://proxy.example.org:4443/masque?h={target_host}&p={target_port}',
  'https://proxy.example.org:4443/masque{?target_host,target_port}',
];
const IP_TEMPLATES = [
  'https://example.org/.well-known/masque/ip/{target}/{ipproto}/',
  'https://proxy.example.org:4443/masque/ip?t={target}&i={ipproto}',
  'https://proxy.example.org:4443/masque/ip{?target,ipproto}',
];

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => [...l, 'example'].join('.'));
const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIpAddress(4, b));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpAddress(6, b));
const host = fc.oneof(dnsName, v4, v6);
const port = fc.integer({ min: 1, max: 65535 });

function refusalOrValue(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ProxyRequestError, `unexpected ${String(e)}`);
    assert.ok([400, 404, 405, 501].includes(e.httpStatus), `status ${e.httpStatus}`);
    assert.match(e.code, /^ERR_PROXY_/);
  }
}

test('CONNECT-UDP: client fields → proxy parse recovers host and port (every RFC 9298 §2 template)', () => {
  fc.assert(fc.property(fc.constantFrom(...UDP_TEMPLATES), host, port, (template, h, p) => {
    const fields = buildTunnelRequestFields({ protocol: 'connect-udp', kind: 'udp', template, vars: { target_host: h, target_port: p } });
    const r = parseProxyRequest(fields, { udpTemplate: parseUriTemplate(template, 'udp') }) as ConnectUdpRequest;
    assert.equal(r.targetHost, h.toLowerCase());
    assert.equal(r.targetPort, p);
  }), RUNS);
});

const ipTarget = fc.oneof(
  fc.constant('*'),
  dnsName,
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
    .map(([b, l]) => formatIpPrefix({ version: 4, bytes: maskBytes(b, l), prefixLen: l })),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
    .map(([b, l]) => formatIpPrefix({ version: 6, bytes: maskBytes(b, l), prefixLen: l })),
);

test('CONNECT-IP: client fields → proxy parse recovers target and ipproto (wildcards sent bare)', () => {
  fc.assert(fc.property(fc.constantFrom(...IP_TEMPLATES), ipTarget, fc.option(fc.integer({ min: 0, max: 255 })), (template, target, proto) => {
    const fields = buildTunnelRequestFields({
      protocol: 'connect-ip', kind: 'ip', template, vars: { target, ipproto: proto ?? '*' }, isWildcardBare: true,
    });
    const r = parseProxyRequest(fields, { ipTemplate: parseUriTemplate(template, 'ip') }) as ConnectIpRequest;
    assert.equal(r.ipProto, proto);
    if (target === '*') assert.equal(r.target.kind, 'any');
    else if (r.target.kind === 'prefix') assert.equal(formatIpPrefix(r.target.prefix), target);
    else assert.deepEqual(r.target, { kind: 'dns', host: target });
  }), RUNS);
});

const templates = { udpTemplate: parseUriTemplate(UDP_TEMPLATES[0], 'udp'), ipTemplate: parseUriTemplate(IP_TEMPLATES[0], 'ip') };

test('any :path under the template prefixes → request or ProxyRequestError (never a crash)', () => {
  const seg = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('%', '%2', '%GG', '%3A', '%2F', '*', '0', '65536', '[::1]', '%25', '%00'));
  const path = fc.tuple(fc.constantFrom('/.well-known/masque/udp/', '/.well-known/masque/ip/', '/', ''), seg, fc.constantFrom('/', ''), seg, fc.constantFrom('/', '', '//'))
    .map((p) => p.join(''));
  fc.assert(fc.property(fc.constantFrom('connect-udp', 'connect-ip'), path, (proto, p) => {
    const fields: FieldLine[] = [[':method', 'CONNECT'], [':protocol', proto], [':scheme', 'https'], [':authority', 'example.org'], [':path', p], ['capsule-protocol', '?1']];
    refusalOrValue(() => parseProxyRequest(fields, templates));
  }), RUNS);
});

test('mutated field sections → request or ProxyRequestError (never a crash)', () => {
  const base: FieldLine[] = [[':method', 'CONNECT'], [':protocol', 'connect-udp'], [':scheme', 'https'], [':authority', 'example.org'],
    [':path', '/.well-known/masque/udp/192.0.2.6/443/'], ['capsule-protocol', '?1']];
  const name = fc.oneof(fc.constantFrom(':method', ':protocol', ':scheme', ':authority', ':path', ':status', 'capsule-protocol', 'content-length', 'Content-Type', 'x'), fc.string({ maxLength: 8 }));
  const op = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat(10) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(10), value: fc.string({ maxLength: 20 }) }),
    fc.record({ kind: fc.constant('add' as const), at: fc.nat(10), name, value: fc.string({ maxLength: 20 }) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 5 }), (ops) => {
    const f = base.map((x) => [...x] as FieldLine);
    for (const o of ops) {
      const i = o.at % (f.length + 1);
      if (o.kind === 'drop') f.splice(i, 1);
      else if (o.kind === 'set' && f[i]) f[i][1] = o.value;
      else if (o.kind === 'add') f.splice(i, 0, [o.name, o.value]);
    }
    refusalOrValue(() => parseProxyRequest(f, templates));
  }), RUNS);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errToStatus, formatProxyStatus, formatSfString } from '../../../src/masque/proxy-status.js';
import { ProxyRequestError } from '../../../src/masque/errors.js';

const sysErr = (code: string) => Object.assign(new Error(`connect ${code} 10.1.2.3:53`), { code });

test('RFC 9209 §2 member format and sf-string escaping', () => {
  assert.equal(formatProxyStatus('relay.example', { error: 'destination_ip_prohibited' }),
    'relay.example; error=destination_ip_prohibited');
  assert.equal(formatProxyStatus('relay one', { error: 'dns_error', rcode: 'NXDOMAIN', details: 'say "hi" \\ é' }),
    '"relay one"; error=dns_error; rcode="NXDOMAIN"; details="say \\"hi\\" \\\\ ?"');
  assert.equal(formatSfString('a\nb'), '"a?b"');
});

test('errToStatus: ProxyRequestError keeps its status and type', () => {
  const e = new ProxyRequestError('ERR_PROXY_METHOD', 405, 'expected CONNECT');
  assert.deepEqual(errToStatus(e), { httpStatus: 405, error: 'http_request_error', details: 'expected CONNECT' });
  const denied = new ProxyRequestError('ERR_PROXY_POLICY', 403, 'target refused', 'destination_ip_prohibited');
  assert.equal(errToStatus(denied).error, 'destination_ip_prohibited');
});

test('errToStatus: Node system and DNS errors map to RFC 9209 types', () => {
  const cases: [string, number, string, string?][] = [
    ['ENOTFOUND', 502, 'dns_error', 'NXDOMAIN'],
    ['EAI_AGAIN', 504, 'dns_timeout'],
    ['ECONNREFUSED', 502, 'connection_refused'],
    ['ETIMEDOUT', 504, 'connection_timeout'],
    ['ENETUNREACH', 502, 'destination_ip_unroutable'],
    ['EHOSTUNREACH', 502, 'destination_ip_unroutable'],
    ['ECONNRESET', 502, 'connection_terminated'],
    ['EMFILE', 503, 'connection_limit_reached'],
  ];
  for (const [code, httpStatus, error, rcode] of cases) {
    const st = errToStatus(sysErr(code));
    assert.equal(st.httpStatus, httpStatus, code);
    assert.equal(st.error, error, code);
    assert.equal(st.rcode, rcode, code);
    assert.equal(st.details, code, 'details never carry the message (addresses)');
  }
  assert.deepEqual(errToStatus(new Error('boom')), { httpStatus: 500, error: 'proxy_internal_error', details: undefined, rcode: undefined });
  assert.equal(errToStatus('weird').httpStatus, 500);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BearerTokens, generateBearerToken, parseCredentials } from '../../../src/identity/bearer.js';

const T1 = 'tok_aaaaaaaaaaaaaaaaaaaa';
const T2 = generateBearerToken();

test('match returns the id of the configured token, null otherwise', () => {
  const tokens = new BearerTokens([{ id: 'ci', token: T1 }, { id: 'ops', token: T2 }]);
  assert.equal(tokens.size, 2);
  assert.equal(tokens.match(T1), 'ci');
  assert.equal(tokens.match(T2), 'ops');
  assert.equal(tokens.match(`${T1}x`), null);
  assert.equal(tokens.match(''), null);
});

test('verify: syntax → ERR_AUTH_MALFORMED/400, unknown → ERR_AUTH_BAD_TOKEN/403', () => {
  const tokens = new BearerTokens([{ id: 'ci', token: T1 }]);
  assert.equal(tokens.verify(T1), 'ci');
  assert.throws(() => tokens.verify('has space'), { code: 'ERR_AUTH_MALFORMED', httpStatus: 400 });
  assert.throws(() => tokens.verify(''), { code: 'ERR_AUTH_MALFORMED', httpStatus: 400 });
  assert.throws(() => tokens.verify('wrong-token-but-well-formed'), { code: 'ERR_AUTH_BAD_TOKEN', httpStatus: 403 });
});

test('configuration: short, non-b64token and duplicate tokens are refused', () => {
  assert.throws(() => new BearerTokens([{ id: 'x', token: 'short' }]), { code: 'ERR_TOKEN_INVALID' });
  assert.throws(() => new BearerTokens([{ id: 'x', token: 'spaces are not ok here' }]), { code: 'ERR_TOKEN_INVALID' });
  assert.throws(() => new BearerTokens([{ id: 'a', token: T1 }, { id: 'b', token: T1 }]), { code: 'ERR_TOKEN_INVALID' });
  assert.match(generateBearerToken(), /^[A-Za-z0-9_-]{43}$/);
});

test('parseCredentials splits the scheme (case-insensitive) from the rest', () => {
  assert.deepEqual(parseCredentials(`Bearer ${T1}`), { scheme: 'bearer', params: T1 });
  assert.deepEqual(parseCredentials('PrivateToken token="abc"'), { scheme: 'privatetoken', params: 'token="abc"' });
  assert.deepEqual(parseCredentials('Basic'), { scheme: 'basic', params: '' });
  assert.throws(() => parseCredentials(''), { code: 'ERR_AUTH_MALFORMED' });
  assert.throws(() => parseCredentials('(bad) x'), { code: 'ERR_AUTH_MALFORMED' });
});

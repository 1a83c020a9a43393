import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizedKeys } from '../../../src/identity/authorized-keys.js';
import { encodeKey, generateKeyPair } from '../../../src/identity/keys.js';
import { IdentityError } from '../../../src/identity/errors.js';

const a = generateKeyPair().publicKey;
const b = generateKeyPair().publicKey;
const c = generateKeyPair().publicKey;

test('parses keys, names, comments and blank lines (CRLF too)', () => {
  const text = [
    '# relay clients',
    '',
    `${encodeKey(a)} alice laptop`,
    `   ${encodeKey(b)}\t# bob`,
    `${encodeKey(c)}`,
    '   # indented comment',
  ].join('\r\n');
  const keys = AuthorizedKeys.parse(text, 'ak');
  assert.equal(keys.size, 3);
  assert.deepEqual(keys.get(a), { publicKey: encodeKey(a), name: 'alice laptop', line: 3 });
  assert.equal(keys.get(b)?.name, 'bob');
  assert.equal(keys.get(c)?.name, undefined);
  assert.ok(keys.has(a) && keys.has(encodeKey(b)));
  assert.ok(!keys.has(generateKeyPair().publicKey));
  assert.ok(!keys.has(new Uint8Array(5)), 'wrong length is simply absent');
  assert.deepEqual([...keys.entries()].map((e) => e.line), [3, 4, 5]);
});

test('errors name the source and the 1-based line', () => {
  const cases: [string, number][] = [
    [`${encodeKey(a)}\nnot-a-key alice\n`, 2],
    [`# c\n\n${encodeKey(a).slice(1)}\n`, 3],
    [`${encodeKey(a)} x\n${encodeKey(b)}\n${encodeKey(a)} again\n`, 3],
  ];
  for (const [text, line] of cases) {
    assert.throws(() => AuthorizedKeys.parse(text, 'clients.keys'), (e: unknown) => {
      assert.ok(e instanceof IdentityError);
      assert.equal(e.code, 'ERR_AUTHORIZED_KEYS_SYNTAX');
      assert.equal(e.line, line);
      assert.ok(e.message.startsWith(`clients.keys:${line}:`), e.message);
      return true;
    });
  }
});

test('immutable: reload means a new object, the old one is unchanged', () => {
  const v1 = AuthorizedKeys.parse(encodeKey(a));
  assert.ok(Object.isFrozen(v1));
  assert.throws(() => {
    (v1 as unknown as { source: string }).source = 'x';
  }, TypeError);
  const v2 = AuthorizedKeys.parse(encodeKey(b));
  assert.ok(v1.has(a) && !v1.has(b));
  assert.ok(v2.has(b) && !v2.has(a));
});

test('fromList and empty', () => {
  const keys = AuthorizedKeys.fromList([encodeKey(a), { publicKey: encodeKey(b), name: 'bob' }]);
  assert.equal(keys.get(b)?.name, 'bob');
  assert.equal(AuthorizedKeys.empty().size, 0);
  assert.throws(() => AuthorizedKeys.fromList(['junk']), { code: 'ERR_AUTHORIZED_KEYS_SYNTAX' });
});

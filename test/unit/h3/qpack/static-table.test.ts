// QPACK static table (RFC 9204 Appendix A), spot-checked against WIRE-VECTORS §4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATIC_TABLE, STATIC_TABLE_LENGTH, findStatic, staticEntry } from '../../../../src/h3/qpack/static-table.js';

test('has 99 entries, 0–98', () => {
  assert.equal(STATIC_TABLE_LENGTH, 99);
  assert.equal(staticEntry(98)?.[0], 'x-frame-options');
  assert.equal(staticEntry(99), undefined);
  assert.equal(staticEntry(-1), undefined);
});

test('entries named in WIRE-VECTORS §4', () => {
  const want: Array<[number, string, string]> = [
    [0, ':authority', ''],
    [1, ':path', '/'],
    [15, ':method', 'CONNECT'],
    [17, ':method', 'GET'],
    [20, ':method', 'POST'],
    [22, ':scheme', 'http'],
    [23, ':scheme', 'https'],
    [25, ':status', '200'],
    [27, ':status', '404'],
    [52, 'content-type', 'text/html; charset=utf-8'],
    [62, 'x-xss-protection', '1; mode=block'],
    [63, ':status', '100'],
    [71, ':status', '500'],
    [98, 'x-frame-options', 'sameorigin'],
  ];
  for (const [i, name, value] of want) assert.deepEqual(staticEntry(i), [name, value], `index ${i}`);
});

test(':protocol and capsule-protocol are not in the table', () => {
  assert.equal(findStatic(':protocol', 'connect-ip'), null);
  assert.equal(findStatic('capsule-protocol', '?1'), null);
  assert.ok(STATIC_TABLE.every(([n]) => n === n.toLowerCase()));
});

test('findStatic prefers exact matches, then the first name match', () => {
  assert.deepEqual(findStatic(':method', 'GET'), { index: 17, isExact: true });
  assert.deepEqual(findStatic(':method', 'PATCH'), { index: 15, isExact: false });
  assert.deepEqual(findStatic(':status', '500'), { index: 71, isExact: true });
  assert.deepEqual(findStatic(':authority', 'example.org'), { index: 0, isExact: false });
});

test('staticEntry returns a copy', () => {
  const e = staticEntry(1)!;
  e[1] = '/changed';
  assert.equal(staticEntry(1)?.[1], '/');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ControlServer } from '../../../src/control/server.js';
import { ControlClient } from '../../../src/control/client.js';
import { lookupGroupId, verifyOwnership } from '../../../src/control/socket.js';
import { createRootLogger, lineSink, silentLogger } from '../../../src/log/logger.js';
import { FakeBackend } from '../../helpers/fake-backend.js';
import { startHarness } from '../../helpers/control-harness.js';

const isRoot = process.getuid?.() === 0;

/** Leave a stale socket file behind, as a crashed daemon would: bind in a child, SIGKILL it. */
async function staleSocket(p: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)}, () => console.log('up'))`]);
  await new Promise<void>((r) => child.stdout.once('data', () => r()));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(statSync(p).isSocket(), 'stale socket file remains');
}

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'masque-sock-'));
}

test('socket is created with mode 0660', async () => {
  const h = await startHarness();
  try {
    assert.equal(statSync(h.socketPath).mode & 0o777, 0o660);
    assert.ok(statSync(h.socketPath).isSocket());
  } finally {
    await h.close();
  }
});

test('socket is chowned to the named group when it exists', async () => {
  const dir = tmp();
  const groupFile = path.join(dir, 'group');
  writeFileSync(groupFile, 'root:x:0:\nmasque-test:x:4242:alice\n');
  assert.equal(await lookupGroupId('masque-test', groupFile), 4242);
  assert.equal(await lookupGroupId('missing', groupFile), null);
  const server = new ControlServer({ backend: new FakeBackend(), log: silentLogger() });
  try {
    // A numeric group skips the /etc/group lookup; only root may chown to a foreign gid.
    const gid = isRoot ? '4242' : String(process.getgid?.() ?? 0);
    await server.listen({ path: path.join(dir, 'd.sock'), group: gid });
    assert.equal(statSync(path.join(dir, 'd.sock')).gid, Number(gid));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a group that does not exist is a warning naming it; the socket still comes up', async () => {
  const dir = tmp();
  const warnings: string[] = [];
  const log = createRootLogger({ level: 'info', destination: lineSink((o) => { if (o.level === 40) warnings.push(String(o.msg)); }), isPretty: false });
  const server = new ControlServer({ backend: new FakeBackend(), log });
  try {
    await server.listen({ path: path.join(dir, 'd.sock'), group: 'no-such-group-masque-test' });
    assert.ok(statSync(path.join(dir, 'd.sock')).isSocket());
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0]!, /^group no-such-group-masque-test not found: only root can use the control socket/);
    await server.listen({ path: path.join(dir, 'ro.sock'), group: null, access: 'read', mode: 0o666 });
    assert.equal(warnings.length, 1, 'no group asked, no warning');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stale socket is replaced; a live one is refused; a regular file is never deleted', async () => {
  const dir = tmp();
  const p = path.join(dir, 'd.sock');
  await staleSocket(p);
  const s1 = new ControlServer({ backend: new FakeBackend(), log: silentLogger() });
  await s1.listen({ path: p, group: null });
  const s2 = new ControlServer({ backend: new FakeBackend(), log: silentLogger() });
  await assert.rejects(s2.listen({ path: p, group: null }), { code: 'ERR_CONTROL_SOCKET_IN_USE' });
  await s1.close();
  const f = path.join(dir, 'file');
  writeFileSync(f, 'x');
  await assert.rejects(s2.listen({ path: f, group: null }), { code: 'ERR_CONTROL_NOT_A_SOCKET' });
  assert.ok(statSync(f).isFile());
  await s2.close();
  rmSync(dir, { recursive: true, force: true });
});

test('read-only socket serves reads and refuses writes with 403', async () => {
  const dir = tmp();
  const server = new ControlServer({ backend: new FakeBackend(), log: silentLogger() });
  const ro = path.join(dir, 'ro.sock');
  await server.listen({ path: ro, group: null, access: 'read', mode: 0o666 });
  try {
    assert.equal(statSync(ro).mode & 0o777, 0o666);
    const c = new ControlClient({ socketPath: ro });
    assert.equal((await c.status()).state.state, 'disconnected');
    await assert.rejects(c.connect(), (e: { code: string; httpStatus: number }) => e.code === 'ERR_CONTROL_FORBIDDEN' && e.httpStatus === 403);
    await assert.rejects(c.setConfig({}), { code: 'ERR_CONTROL_FORBIDDEN' });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('client refuses a socket owned by another uid', { skip: !isRoot && 'needs root to chown' }, async () => {
  const h = await startHarness();
  try {
    chownSync(h.socketPath, 65534, 65534); // nobody
    await assert.rejects(verifyOwnership(h.socketPath), { code: 'ERR_CONTROL_SOCKET_OWNER' });
    await assert.rejects(h.client().status(), { code: 'ERR_CONTROL_SOCKET_OWNER' });
    // Opting out of the check (tests only) still talks to it.
    assert.equal((await h.client({ checkOwner: false }).status()).state.state, 'disconnected');
  } finally {
    await h.close();
  }
});

test('missing daemon → ERR_CONTROL_DAEMON_UNREACHABLE; a non-socket path is refused', async () => {
  const dir = tmp();
  try {
    await assert.rejects(new ControlClient({ socketPath: path.join(dir, 'none.sock') }).status(), { code: 'ERR_CONTROL_DAEMON_UNREACHABLE' });
    const f = path.join(dir, 'f');
    writeFileSync(f, '');
    chmodSync(f, 0o600);
    await assert.rejects(new ControlClient({ socketPath: f }).status(), { code: 'ERR_CONTROL_NOT_A_SOCKET' });
    // A dead socket file (nobody listening): unreachable as well.
    const dead = path.join(dir, 'dead.sock');
    await staleSocket(dead);
    await assert.rejects(new ControlClient({ socketPath: dead }).status(), { code: 'ERR_CONTROL_DAEMON_UNREACHABLE' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

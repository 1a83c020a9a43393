// Interop with Debian's ngtcp2 examples (FACTS.md): gtlsclient against h3:serve and
// h3:get against gtlsserver, over loopback. Skipped when the binaries are missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateSelfSigned } from '../../src/quic/certs.js';

const run = promisify(execFile);
const GTLSCLIENT = '/usr/bin/gtlsclient';
const GTLSSERVER = '/usr/sbin/gtlsserver';
const hasNgtcp2 = existsSync(GTLSCLIENT) && existsSync(GTLSSERVER);
const TOOLS = join(process.cwd(), 'dist/tools');

let dir = '';
const children: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'h3-ngtcp2-'));
  const c = await generateSelfSigned({ names: ['localhost', '127.0.0.1'] });
  await writeFile(join(dir, 'cert.pem'), c.certPem);
  await writeFile(join(dir, 'key.pem'), c.keyPem);
  await mkdir(join(dir, 'www'));
  await writeFile(join(dir, 'www', 'index.html'), 'hello from h3\n');
  await writeFile(join(dir, 'www', '1048576'), Buffer.alloc(1048576, 0x61));
  await writeFile(join(dir, 'post.bin'), Buffer.alloc(5000, 0x62));
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

/** Starts h3:serve on a free port; resolves with the port and a log accessor. */
function startH3Serve(): Promise<{ port: number; log: () => string }> {
  const c = spawn(process.execPath, [join(TOOLS, 'h3-serve.js'), '--listen', '127.0.0.1:0', '--dir', join(dir, 'www'),
    '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')]);
  children.push(c);
  let out = '';
  return new Promise((resolve, reject) => {
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on [^:]+:(\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), log: () => out });
    });
    c.on('exit', (code) => reject(new Error(`h3-serve exited ${code}`)));
  });
}

async function gtlsclient(port: number, urls: string[], extra: string[] = []): Promise<string> {
  const { stdout, stderr } = await run(GTLSCLIENT, ['--exit-on-all-streams-close', ...extra, '127.0.0.1', String(port), ...urls],
    { timeout: 20000, maxBuffer: 64 << 20 });
  return stdout + stderr;
}

test('gtlsclient → h3:serve: 200, 404, a request with a body, 50 requests on one connection', { skip: !hasNgtcp2 }, async () => {
  const srv = await startH3Serve();
  const base = `https://127.0.0.1:${srv.port}`;
  const out = await gtlsclient(srv.port, [`${base}/index.html`, `${base}/missing`]);
  assert.match(out, /stream 0x0 \[:status: 200\]/);
  assert.match(out, /stream 0x0 body 14 bytes/);
  assert.match(out, /stream 0x4 \[:status: 404\]/);
  const post = await gtlsclient(srv.port, [`${base}/upload`], ['-d', join(dir, 'post.bin')]);
  assert.match(post, /\[:status: 200\]/);
  assert.match(post, /body 20 bytes/, '"received 5000 bytes\\n"');
  const many = await gtlsclient(srv.port, [`${base}/index.html`], ['-n', '50']);
  assert.equal((many.match(/\[:status: 200\]/g) ?? []).length, 50);
  await new Promise((r) => setTimeout(r, 100));
  assert.match(srv.log(), /GET \/upload 200 \(5000 body bytes\)/);
  assert.equal((srv.log().match(/GET \/index.html 200/g) ?? []).length, 51);
});

/** Runs h3:get; resolves with exit code and output (never rejects on a non-zero exit). */
async function h3get(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(TOOLS, 'h3-get.js'), ...args], { timeout: 30000, maxBuffer: 64 << 20 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

test('h3:get → gtlsserver: /, /1048576, 50 requests (dynamic table), extended CONNECT refused', { skip: !hasNgtcp2 }, async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const srv = spawn(GTLSSERVER, ['-q', '-d', join(dir, 'www'), '127.0.0.1', String(port), join(dir, 'key.pem'), join(dir, 'cert.pem')]);
  children.push(srv);
  await new Promise((r) => setTimeout(r, 500));
  const url = `https://localhost:${port}`;
  const ca = ['--ca', join(dir, 'cert.pem')];
  const root = await h3get([`${url}/`, ...ca]);
  assert.equal(root.code, 0, root.out);
  assert.match(root.out, /status: 200/);
  assert.match(root.out, /server: nghttp3/);
  const big = await h3get([`${url}/1048576`, ...ca]);
  assert.equal(big.code, 0, big.out);
  assert.match(big.out, /body: 1048576 bytes/);
  const many = await h3get([`${url}/index.html`, ...ca, '-n', '50']);
  assert.equal(many.code, 0, many.out);
  assert.equal((many.out.match(/status: 200/g) ?? []).length, 50);
  assert.equal((many.out.match(/server: nghttp3\/ngtcp2 server/g) ?? []).length, 50, 'headers decoded via the dynamic table');
  const connect = await h3get([`${url}/`, ...ca, '--protocol', 'connect-udp']);
  assert.equal(connect.code, 2);
  assert.match(connect.out, /ERR_H3_MESSAGE_ERROR/);
});

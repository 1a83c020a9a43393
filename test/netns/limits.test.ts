/**
 * Per-client bandwidth limit on a live relay (issue 6): a single-hop relay configured with
 * `[limits] bandwidth_bytes_per_sec` caps one client's TCP transfer near the limit, and the
 * drops are counted in the metrics.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Testbed } from '../helpers/testbed.js';
import { Lab, metricValue } from '../helpers/lab.js';

const LIMIT_BYTES = 250_000; // 2 Mbit/s
let tb: Testbed;
let lab: Lab;
let dir: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'masque-limits-'));
  const cfg = path.join(dir, 'relay.toml');
  writeFileSync(cfg, `[limits]\nbandwidth_bytes_per_sec = ${LIMIT_BYTES}\n`);
  tb = await Testbed.create({ ipv6: false, forwarding: 'tunnel' });
  lab = await Lab.start(tb, { twoHop: false, egressArgs: ['--config', cfg] });
});

after(async () => {
  await lab?.stop();
  await tb?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('a client is held to its bandwidth limit; drops are counted', async () => {
  const c = await lab.startClient(lab.clientConfig({ singleHop: true }));
  try {
    const srv = tb.spawn('server', 'iperf3', ['-s', '-1', '-B', tb.addr.server.v4], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const r = await tb.exec('client', 'iperf3', ['-c', tb.addr.server.v4, '-t', '4', '-J'], { timeoutMs: 30_000, allowFail: true });
    srv.kill();
    const mbps = (JSON.parse(r.stdout || '{}').end?.sum_received?.bits_per_second ?? 0) / 1e6;
    assert.ok(mbps > 0.5, `traffic flows: ${mbps} Mbit/s`);
    assert.ok(mbps < (LIMIT_BYTES * 8 / 1e6) * 1.5, `held near ${LIMIT_BYTES * 8 / 1e6} Mbit/s: ${mbps.toFixed(2)}`);
    const m = await lab.metrics(lab.egress);
    assert.ok(metricValue(m, 'masque_relay_drops_total', { reason: 'ip_dropsRateLimited' }) > 0, 'rate-limit drops counted');
  } finally {
    await lab.stopClient(c);
  }
});

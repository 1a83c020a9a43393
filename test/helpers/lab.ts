/**
 * A masque-relay deployment in the testbed (test/helpers/testbed.ts): an egress relay in the
 * egress namespace, optionally an ingress relay in the ingress namespace, both as real
 * `relay-cli serve` processes with generated keys, and client configs pointing at them.
 * Used by the netns tests, `npm run demo` and `npm run bench`.
 *
 *   client 10.99.1.1 ── 10.99.1.2 ingress 10.99.2.1 ── 10.99.2.2 egress 10.99.3.1 ── 10.99.3.2 server
 */
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Testbed } from './testbed.js';
import type { Host } from './testbed-net.js';
import { generateKeyPair, encodeKey, type KeyPair } from '../../src/identity/keys.js';
import { writePrivateKeyFile } from '../../src/identity/key-file.js';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/main.js');
export const RELAY_PORT = 4433;

export interface LabRelay {
  host: Host;
  role: 'ingress' | 'egress' | 'both';
  address: string;
  port: number;
  publicKey: string;
  proc: ChildProcess;
  /** Every log line (pino JSON) the relay printed, parsed. */
  logs: Array<Record<string, unknown>>;
  metricsPort: number;
  /** The `serve` arguments, for restartRelay(). */
  args: string[];
}

export interface LabOptions {
  twoHop: boolean;
  /** Extra `serve` flags per role. */
  egressArgs?: string[];
  ingressArgs?: string[];
  logLevel?: string;
  /** Extra node flags for every relay and client process (e.g. --cpu-prof for profiling). */
  nodeArgs?: string[];
  /** Extra environment of the client process (e.g. MASQUE_QUIC_FORWARDING=0). */
  clientEnv?: Record<string, string>;
  /**
   * Privacy Pass (two-hop): the ingress runs the issuer (`[issuer]`, keys and directory in
   * the lab dir) and the egress requires tokens, reading the issuer's directory file.
   */
  privacy?: { mode: 'required' | 'required-with-trusted-ingress' };
}

export interface LabClient {
  proc: ChildProcess;
  output: string[];
  /** The `connected` TunnelState JSON. */
  state: Record<string, unknown> | null;
}

export class Lab {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'masque-lab-'));
  readonly client: KeyPair = generateKeyPair();
  egress!: LabRelay;
  ingress?: LabRelay;

  private constructor(readonly tb: Testbed, readonly opts: LabOptions) {}

  static async start(tb: Testbed, opts: LabOptions): Promise<Lab> {
    const lab = new Lab(tb, opts);
    try {
      await lab.startRelays();
    } catch (e) {
      await lab.stop();
      throw e;
    }
    return lab;
  }

  private async startRelays(): Promise<void> {
    const tb = this.tb;
    const ie = tb.links['ingress-egress'];
    const es = tb.links['egress-server'];
    const authorized = path.join(this.dir, 'authorized_keys');
    writeFileSync(authorized, `${encodeKey(this.client.publicKey)} lab-client\n`);
    const egressArgs = [
      '--role', this.opts.twoHop ? 'egress' : 'both',
      '--auth', 'noise', '--authorized-keys', authorized,
      // The lab's server network is private (10.99.3.0/24): allowed explicitly, as an operator would.
      '--allow-target', es.net4, ...(es.net6 ? ['--allow-target', es.net6] : []),
      ...(this.opts.twoHop ? ['--trusted-ingress', `${ie.leftAddr.v4}/32`] : []),
      ...(this.opts.egressArgs ?? []),
    ];
    const egressListen = this.opts.twoHop ? ie.rightAddr.v4 : tb.addr.egress.v4;
    const ingressArgs = [
      '--role', 'ingress', '--auth', 'noise', '--authorized-keys', authorized,
      '--allow-egress', `${egressListen}:${RELAY_PORT}`,
      ...(this.opts.ingressArgs ?? []),
    ];
    const pp = this.opts.privacy;
    if (pp && this.opts.twoHop) {
      // The issuer writes its directory; the egress reads it (both on this host's filesystem).
      const dir = path.join(this.dir, 'issuer-directory.json');
      const ic = path.join(this.dir, 'ingress-privacy.toml');
      writeFileSync(ic, `[issuer]\nenabled = true\nkey_file = "${path.join(this.dir, 'issuer-keys.json')}"\ndirectory_file = "${dir}"\n`);
      const ec = path.join(this.dir, 'egress-privacy.toml');
      writeFileSync(ec, `[egress]\nprivate_token = "${pp.mode}"\nprivate_token_issuer_directory = "${dir}"\n`);
      ingressArgs.push('--config', ic);
      egressArgs.push('--config', ec);
      // The ingress first, so the directory exists when the egress starts.
      this.ingress = await this.startRelay('ingress', 'ingress', tb.links['client-ingress'].rightAddr.v4, 9100, ingressArgs);
    }
    this.egress = await this.startRelay('egress', this.opts.twoHop ? 'egress' : 'both', egressListen, 9101, egressArgs);
    if (this.opts.twoHop && !this.ingress) {
      const ci = tb.links['client-ingress'];
      this.ingress = await this.startRelay('ingress', 'ingress', ci.rightAddr.v4, 9100, ingressArgs);
    }
  }

  private async startRelay(host: Host, role: LabRelay['role'], address: string, metricsPort: number, args: string[]): Promise<LabRelay> {
    const key = generateKeyPair();
    const keyFile = path.join(this.dir, `${host}.key`);
    await writePrivateKeyFile(keyFile, key.privateKey);
    const serveArgs = [
      ...(this.opts.nodeArgs ?? []), CLI, 'serve', '--listen', `${address}:${RELAY_PORT}`, '--identity', keyFile,
      '--metrics', `127.0.0.1:${metricsPort}`, '--log-level', this.opts.logLevel ?? 'info', ...args,
    ];
    const relay: LabRelay = { host, role, address, port: RELAY_PORT, publicKey: encodeKey(key.publicKey), proc: undefined as never, logs: [], metricsPort, args: serveArgs };
    await this.launch(relay);
    return relay;
  }

  /**
   * Kills a relay with SIGKILL (a crash: no GOAWAY, no CONNECTION_CLOSE) and starts it again
   * with the same identity and flags. Resolves when the new process logs `relay up`.
   */
  async restartRelay(relay: LabRelay): Promise<void> {
    if (relay.proc.exitCode === null && relay.proc.signalCode === null) {
      const exited = new Promise((r) => relay.proc.once('exit', r));
      relay.proc.kill('SIGKILL');
      await exited;
    }
    await this.launch(relay);
  }

  private async launch(relay: LabRelay): Promise<void> {
    const { host } = relay;
    const proc = this.tb.spawn(host, process.execPath, relay.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    relay.proc = proc;
    const up = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${host} relay did not start:\n${relay.logs.map((l) => JSON.stringify(l)).join('\n')}`)), 15_000);
      for (const stream of [proc.stdout!, proc.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          let j: Record<string, unknown>;
          try {
            j = JSON.parse(line);
          } catch {
            j = { msg: line };
          }
          relay.logs.push(j);
          if (j.msg === 'relay up') {
            clearTimeout(t);
            resolve();
          }
        });
      }
      proc.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`${host} relay exited (${code}):\n${relay.logs.map((l) => JSON.stringify(l)).join('\n')}`));
      });
    });
    await up;
  }

  /** A client config (TOML) for this lab; returns its path (mode 0600). */
  clientConfig(o: { killSwitch?: boolean; dns?: string[]; split?: { include?: string[]; exclude?: string[] }; exclude?: string[]; singleHop?: boolean; tunName?: string; privateTokens?: boolean } = {}): string {
    if (o.dns?.length) {
      // `ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf only if
      // it exists: create it, so the client rewrites the namespace's file, never the host's.
      const dir = `/etc/netns/${this.tb.ns.client}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/resolv.conf`, 'nameserver 127.0.0.53\n');
    }
    const relays = [this.egress, ...(this.ingress ? [this.ingress] : [])];
    const isTwoHop = !!this.ingress && !o.singleHop;
    const lines = [
      `private_key = "${encodeKey(this.client.privateKey)}"`,
      `chain = "${isTwoHop ? 'two-hop' : 'single-hop'}"`,
      isTwoHop ? `ingress = "ingress"\negress = "egress"` : `relay = "egress"`,
      `kill_switch = ${o.killSwitch ? 'true' : 'false'}`,
      'log_level = "info"',
      ...relays.map((r) => `[[relays]]\nname = "${r.host}"\naddress = "${r.address}:${r.port}"\npublic_key = "${r.publicKey}"\nrole = "${r.role}"`),
      '[routing]',
      `mode = "${o.split ? 'split' : 'full'}"`,
      `include = ${JSON.stringify(o.split?.include ?? [])}`,
      `exclude = ${JSON.stringify(o.split?.exclude ?? o.exclude ?? [])}`,
      '[dns]',
      `servers = ${JSON.stringify(o.dns ?? [])}`,
      '[tun]',
      `name = "${o.tunName ?? 'masque0'}"`,
      'mtu = 1400',
      ...(o.privateTokens ? ['[private_tokens]', 'enabled = true', 'batch_size = 4'] : []),
    ];
    const file = path.join(this.dir, `client-${Math.random().toString(36).slice(2, 8)}.toml`);
    writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
    return file;
  }

  /**
   * Runs `relay-cli connect --foreground --json` in the client namespace; resolves when it
   * reports `connected` (rejects on exit or after `timeoutMs`). Ctrl-C (SIGINT) disconnects.
   */
  async startClient(configPath: string, extraArgs: string[] = [], timeoutMs = 20_000): Promise<LabClient> {
    const proc = this.tb.spawn('client', process.execPath, [...(this.opts.nodeArgs ?? []), CLI, 'connect', '--foreground', '--json', '--config', configPath, ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.opts.clientEnv } });
    const client: LabClient = { proc, output: [], state: null };
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`client did not connect:\n${client.output.join('\n')}`)), timeoutMs);
      // stdout carries JSON documents (pretty-printed over several lines); stderr progress.
      let doc = '';
      for (const stream of [proc.stdout!, proc.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          client.output.push(line);
          if (stream !== proc.stdout) return;
          doc += line + '\n';
          if (line !== '}') return;
          let j: { state?: string };
          try {
            j = JSON.parse(doc) as { state?: string };
          } catch {
            return;
          }
          doc = '';
          if (j.state === 'connected') {
            client.state = j;
            clearTimeout(t);
            resolve();
          }
        });
      }
      proc.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`client exited (${code}):\n${client.output.join('\n')}`));
      });
    });
    return client;
  }

  /** Stops a client with SIGINT (it disconnects and restores routes/DNS) and waits for its exit. */
  async stopClient(c: LabClient): Promise<number | null> {
    if (c.proc.exitCode !== null) return c.proc.exitCode;
    const exited = new Promise<number | null>((r) => c.proc.once('exit', (code) => r(code)));
    c.proc.kill('SIGINT');
    return exited;
  }

  /** Prometheus text of a relay's metrics endpoint (fetched inside its namespace). */
  async metrics(r: LabRelay): Promise<string> {
    const res = await this.tb.exec(r.host, process.execPath, ['-e', `fetch('http://127.0.0.1:${r.metricsPort}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))`]);
    return res.stdout;
  }

  /**
   * Stops the relays (SIGTERM: GOAWAY, TUN and NAT removed; SIGKILL after 5 s), waits for
   * them to exit, and removes the temp dir. The testbed's dispose() does the rest.
   */
  async stop(): Promise<void> {
    const live = [this.ingress, this.egress].filter((r): r is LabRelay => !!r && r.proc.exitCode === null && r.proc.signalCode === null);
    await Promise.all(live.map((r) => new Promise<void>((resolve) => {
      const t = setTimeout(() => r.proc.kill('SIGKILL'), 5000);
      r.proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      r.proc.kill('SIGTERM');
    })));
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(`/etc/netns/${this.tb.ns.client}`, { recursive: true, force: true });
  }
}

/** A metric's value from Prometheus text (`name{labels} value`); sums matching series. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})?\s+([-\d.e+]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ok = Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`));
    if (ok) sum += Number(m[3]);
  }
  return sum;
}

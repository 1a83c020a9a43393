/**
 * A scripted TunnelBackend (the double of src/client/engine.ts) for control API, CLI and tray
 * app tests. `connect()` walks the stages one per `stepMs` (0 = one macrotask each) and ends
 * `connected`, or `error` when `failWith` is set. `setState()` drives it by hand.
 * Records every call in `calls` so tests can assert what the daemon asked for.
 */
import { MasqueError } from '../../src/core/errors.js';
import {
  emptyStats,
  type BackendEvent,
  type ClientConfigView,
  type ConfigPatch,
  type ConnectOptions,
  type ConnectStage,
  type RelayInfo,
  type TunnelBackend,
  type TunnelState,
  type TunnelStats,
} from '../../src/control/schema.js';

export interface FakeBackendOptions {
  stepMs?: number;
  /** Make every attempt end in `error` with this code after the stages. */
  failWith?: { code: string; message: string };
  relays?: RelayInfo[];
  config?: ClientConfigView;
}

export const FAKE_RELAYS: RelayInfo[] = [
  { name: 'in-1', address: '127.0.0.1:4433', role: 'ingress', publicKey: 'A'.repeat(43) + '=', latencyMs: 12.5 },
  { name: 'out-1', address: '127.0.0.1:4434', role: 'egress', publicKey: 'B'.repeat(43) + '=', latencyMs: null, errorCode: 'ERR_PROBE_TIMEOUT' },
];

export class FakeBackend implements TunnelBackend {
  readonly calls: string[] = [];
  opts: FakeBackendOptions;
  private state: TunnelState = { state: 'disconnected' };
  private readonly listeners = new Set<(ev: BackendEvent) => void>();
  private config: ClientConfigView;
  private connectedAt = 0;
  private run = 0;
  isClosed = false;

  constructor(opts: FakeBackendOptions = {}) {
    this.opts = opts;
    this.config = opts.config ?? {
      privateKey: 'c2VjcmV0LWtleS1kby1ub3Qtc2hvdy1pdC10by1hbnlvbmU=',
      chain: 'two-hop',
      ingress: 'in-1',
      egress: 'out-1',
      killSwitch: false,
      dns: { servers: ['9.9.9.9'] },
      proxy: { template: 'https://p.example:443/.well-known/masque/ip/{target}/{ipproto}/', authorization: 'Bearer t0ken' },
    };
  }

  async connect(opts: ConnectOptions): Promise<TunnelState> {
    this.calls.push(`connect ${JSON.stringify(opts)}`);
    if (opts.relay === 'nope') throw new MasqueError('ERR_CONFIG_UNKNOWN_RELAY', 'no relay named "nope" in the config');
    if (this.state.state === 'connected' || this.state.state === 'connecting') return this.state;
    const run = ++this.run;
    const stages: ConnectStage[] = opts.singleHop
      ? ['resolving', 'connecting-ingress', 'assigning-address']
      : ['resolving', 'connecting-ingress', 'connecting-egress', 'assigning-address'];
    this.setState({ state: 'connecting', stage: stages[0]! });
    void this.walk(run, stages.slice(1), opts);
    return this.state;
  }

  private async walk(run: number, stages: ConnectStage[], opts: ConnectOptions): Promise<void> {
    for (const stage of stages) {
      await sleep(this.opts.stepMs ?? 0);
      if (run !== this.run) return;
      this.setState({ state: 'connecting', stage });
    }
    await sleep(this.opts.stepMs ?? 0);
    if (run !== this.run) return;
    if (this.opts.failWith) {
      this.setState({ state: 'error', ...this.opts.failWith });
      return;
    }
    this.connectedAt = Date.now();
    this.setState({
      state: 'connected',
      chain: opts.singleHop
        ? [{ role: 'proxy', address: 'p.example:443' }]
        : [
            { role: 'ingress', name: 'in-1', address: '127.0.0.1:4433' },
            { role: 'egress', name: 'out-1', address: '127.0.0.1:4434' },
          ],
      addresses: ['100.64.0.2/32', 'fd00:6d61:7371::2/128'],
      routes: ['0.0.0.0/0', '::/0'],
      since: new Date(this.connectedAt).toISOString(),
      mtu: 1307,
      mtuProbe: 'verified',
      ...(opts.singleHop ? {} : { forwarding: true }),
    });
  }

  async disconnect(): Promise<TunnelState> {
    this.calls.push('disconnect');
    this.run++;
    if (this.state.state !== 'disconnected') this.setState({ state: 'disconnected' });
    return this.state;
  }

  status(): TunnelState {
    return this.state;
  }

  stats(): TunnelStats {
    if (this.state.state !== 'connected') return emptyStats();
    return { rttMs: 23.4, bytesUp: 1200, bytesDown: 64_000, packetsUp: 10, packetsDown: 50, packetsDropped: 0, uptimeMs: Date.now() - this.connectedAt };
  }

  async relays(): Promise<RelayInfo[]> {
    this.calls.push('relays');
    return this.opts.relays ?? FAKE_RELAYS;
  }

  getConfig(): ClientConfigView {
    return structuredClone(this.config);
  }

  async setConfig(patch: ConfigPatch): Promise<ClientConfigView> {
    this.calls.push(`setConfig ${JSON.stringify(patch)}`);
    if ('killSwitch' in patch && typeof patch.killSwitch !== 'boolean') {
      throw new MasqueError('ERR_CONFIG_INVALID', 'killSwitch: expected a boolean');
    }
    this.config = { ...this.config, ...patch };
    return this.getConfig();
  }

  subscribe(listener: (ev: BackendEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.calls.push('close');
    await this.disconnect();
    this.isClosed = true;
  }

  /** Drive the state by hand (tray tests); emits a state event. */
  setState(s: TunnelState): void {
    this.state = s;
    for (const l of this.listeners) l({ type: 'state', state: s });
  }

  /** Emit a log line event. */
  emitLog(msg: string, level: 'info' | 'warn' = 'info'): void {
    for (const l of this.listeners) l({ type: 'log', log: { level, msg, mod: 'fake' } });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

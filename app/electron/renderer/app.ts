/**
 * The window's app: holds the state main reports (daemon, tunnel, stats, logs, settings,
 * relays) and redraws the parts that changed. Everything comes through the bridge: the
 * preload's `window.masque` in Electron, dev-bridge.ts in a plain browser. Daemon-provided
 * strings are only ever set as textContent (never innerHTML).
 */
import type { AppSnapshot, DaemonStatus, LogEntry, MasqueBridge, RelayInfo, Settings, StatsSample, TunnelState } from '../shared/ipc-schema.js';
import { ThroughputChart } from './chart.js';
import { createDevBridge } from './dev-bridge.js';
import { formatBytes, formatDuration, formatRate } from './format.js';
import { SettingsView } from './settings-view.js';

declare global {
  interface Window {
    masque?: MasqueBridge;
  }
}

const MAX_LOG_ROWS = 50;

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e as T;
}

function text(id: string, value: string): void {
  el(id).textContent = value;
}

const STAGES: Record<string, string> = {
  resolving: 'Resolving relays',
  'connecting-ingress': 'Reaching the first relay',
  'connecting-egress': 'Reaching the egress relay',
  'assigning-address': 'Getting an address',
};

/** Hint text may contain `code` spans in backticks; build them as elements, not HTML. */
function setHint(node: HTMLElement, hint: string): void {
  node.replaceChildren();
  hint.split(/(`[^`]+`)/).forEach((part) => {
    if (part.startsWith('`') && part.endsWith('`') && part.length > 1) {
      const code = document.createElement('code');
      code.textContent = part.slice(1, -1);
      node.append(code);
    } else node.append(document.createTextNode(part));
  });
}

class App {
  private daemon: DaemonStatus = { state: 'starting', socketPath: '' };
  private tunnel: TunnelState = { state: 'disconnected' };
  private settings: Settings | null = null;
  private relays: RelayInfo[] = [];
  private lastSample: StatsSample | null = null;
  /** The last failed action (connect, disconnect, chain change), shown until the next success. */
  private actionError: string | null = null;
  private isBusy = false;
  /** Tunnel events received so far (an invoke answer older than the last event is ignored). */
  private tunnelEvents = 0;
  private readonly chart = new ThroughputChart(el<HTMLCanvasElement>('chart'));
  private readonly settingsView: SettingsView;

  constructor(private readonly bridge: MasqueBridge) {
    this.settingsView = new SettingsView(bridge, (s) => this.onSettings(s));
    el('toggle').addEventListener('click', () => void this.toggle());
    el('daemon-retry').addEventListener('click', () => bridge.send('daemon:retry', undefined));
    el('ingress-select').addEventListener('change', (ev) => void this.chooseHop('ingress', (ev.target as HTMLSelectElement).value));
    el('egress-select').addEventListener('change', (ev) => void this.chooseHop('egress', (ev.target as HTMLSelectElement).value));
    bridge.on('notify:daemon', (d) => this.onDaemon(d));
    bridge.on('notify:tunnel', (t) => this.onTunnel(t));
    bridge.on('notify:stats', (s) => this.onStats(s));
    bridge.on('notify:log', (l) => this.addLog(l));
    bridge.on('notify:settings', (s) => this.onSettings(s));
    bridge.on('notify:relays', (r) => this.onRelays(r));
    window.setInterval(() => this.renderUptime(), 1000);
  }

  async load(): Promise<void> {
    const r = await this.bridge.invoke('app:snapshot', undefined);
    if (r.type === 'error') {
      this.actionError = `Cannot reach the app's main process: ${r.message}`;
      this.renderTunnel();
      return;
    }
    this.applySnapshot(r.value);
  }

  private applySnapshot(s: AppSnapshot): void {
    this.chart.reset(s.history);
    el('log').replaceChildren();
    s.logs.slice(-MAX_LOG_ROWS).forEach((l) => this.addLog(l));
    this.onSettings(s.settings);
    this.onRelays(s.relays);
    this.onDaemon(s.daemon);
    this.onTunnel(s.tunnel);
    const last = s.history[s.history.length - 1];
    if (last) this.onStats(last, false);
  }

  private onDaemon(d: DaemonStatus): void {
    this.daemon = d;
    const pill = el('daemon-pill');
    pill.dataset.state = d.state;
    pill.textContent = { starting: 'daemon…', ok: 'daemon ok', absent: 'no daemon', denied: 'no access', untrusted: 'untrusted', failed: 'daemon lost' }[d.state];
    const banner = el('daemon-banner');
    banner.hidden = d.state === 'ok' || d.state === 'starting';
    text('daemon-message', d.message ?? '');
    setHint(el('daemon-hint'), d.hint ?? '');
    this.renderTunnel();
  }

  private onTunnel(t: TunnelState): void {
    this.tunnelEvents++;
    this.tunnel = t;
    if (t.state === 'connected') this.actionError = null;
    if (t.state !== 'connected') this.lastSample = null;
    this.renderTunnel();
    this.renderStats();
  }

  private onStats(s: StatsSample, isNew = true): void {
    this.lastSample = s;
    if (isNew) this.chart.add(s);
    this.renderStats();
  }

  private onSettings(s: Settings | null): void {
    this.settings = s;
    this.settingsView.update(s);
    this.renderRelays();
  }

  private onRelays(r: RelayInfo[]): void {
    this.relays = r;
    this.renderRelays();
  }

  private isActive(): boolean {
    return this.tunnel.state === 'connected' || this.tunnel.state === 'connecting' || this.tunnel.state === 'reconnecting';
  }

  private async toggle(): Promise<void> {
    if (this.isBusy) return;
    this.isBusy = true;
    this.actionError = null;
    this.renderTunnel();
    const seenBefore = this.tunnelEvents;
    const r = this.isActive() ? await this.bridge.invoke('tunnel:disconnect', undefined) : await this.bridge.invoke('tunnel:connect', {});
    this.isBusy = false;
    if (r.type === 'error') this.actionError = r.code ? `${r.message} (${r.code})` : r.message;
    // The answer is the state when the daemon took the request; a tunnel event that arrived
    // meanwhile is newer (under load, "connected" came before the answer "connecting", and
    // the window then showed "Connecting…" for good).
    else if (this.tunnelEvents === seenBefore) this.tunnel = r.value;
    this.renderTunnel();
  }

  private async chooseHop(role: 'ingress' | 'egress', name: string): Promise<void> {
    const r = await this.bridge.invoke('settings:set', { [role]: name });
    if (r.type === 'error') {
      this.actionError = `Could not change the ${role}: ${r.message}`;
      this.renderTunnel();
      this.renderRelays(); // put the select back to what the daemon has
      return;
    }
    this.onSettings(r.value);
  }

  private renderTunnel(): void {
    const t = this.tunnel;
    const isDaemonOk = this.daemon.state === 'ok';
    const hero = el('hero');
    hero.dataset.state = isDaemonOk ? t.state : 'disconnected';
    const toggle = el<HTMLButtonElement>('toggle');
    toggle.disabled = !isDaemonOk || this.isBusy;
    toggle.setAttribute('aria-pressed', String(this.isActive()));
    toggle.setAttribute('aria-label', this.isActive() ? 'Disconnect' : 'Connect');
    let state = 'Disconnected';
    let detail = isDaemonOk ? 'Press the switch to connect' : 'Waiting for the daemon';
    if (isDaemonOk) {
      // `blocked`: the daemon holds traffic outside the tunnel until it is up (docs/client.md).
      const held = (t.state === 'connecting' || t.state === 'reconnecting') && t.blocked ? ' · traffic blocked' : '';
      if (t.state === 'connecting') [state, detail] = ['Connecting…', `${STAGES[t.stage] ?? t.stage}${held}`];
      else if (t.state === 'reconnecting') [state, detail] = ['Reconnecting…', `Attempt ${t.attempt}: ${STAGES[t.stage] ?? t.stage}${held}`];
      else if (t.state === 'connected') [state, detail] = ['Connected', `since ${new Date(t.since).toLocaleTimeString()}`];
      else if (t.state === 'error') [state, detail] = ['Error', t.code];
    }
    text('state-text', state);
    text('state-detail', detail);

    const message = this.actionError ?? (isDaemonOk && t.state === 'error' ? `${t.message} (${t.code})` : null);
    el('error-banner').hidden = message === null;
    text('error-message', message ?? '');

    const list = el('addresses');
    list.replaceChildren();
    const addrs = t.state === 'connected' ? t.addresses : [];
    if (addrs.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'Not connected';
      list.append(li);
    }
    for (const a of addrs) {
      const li = document.createElement('li');
      li.textContent = a;
      list.append(li);
    }
    text('chain-active', t.state === 'connected' ? `Active: ${t.chain.map((h) => `${h.name ?? h.role} (${h.address})`).join(' → ')}` : '');
    this.renderRelays();
  }

  private renderRelays(): void {
    for (const role of ['ingress', 'egress'] as const) {
      const select = el<HTMLSelectElement>(`${role}-select`);
      const current = this.settings?.[role] ?? null;
      const fits = this.relays.filter((r) => r.role === role || r.role === 'both');
      select.replaceChildren();
      // Keep the configured name selectable even before the (slow) relay probe answers.
      const names = fits.map((r) => r.name);
      if (current && !names.includes(current)) fits.unshift({ name: current, address: '', role, publicKey: '', latencyMs: null });
      if (fits.length === 0) select.append(new Option('—', ''));
      for (const r of fits) {
        const label = r.latencyMs !== null ? `${r.name} · ${Math.round(r.latencyMs)} ms` : r.errorCode ? `${r.name} · unreachable` : r.name;
        select.append(new Option(label, r.name, false, r.name === current));
      }
      select.disabled = this.daemon.state !== 'ok' || this.settings === null || this.settings.chain === 'single-hop' || fits.length === 0;
    }
  }

  private renderStats(): void {
    const s = this.tunnel.state === 'connected' ? this.lastSample : null;
    text('rate-down', formatRate(s?.downBps ?? 0));
    text('rate-up', formatRate(s?.upBps ?? 0));
    // Whole ms, rounded down (the quiche binding's resolution; TunnelStats.rttMs): 0.0 = under 1 ms.
    text('rtt', s?.rttMs != null ? `${s.rttMs.toFixed(1)} ms` : '–');
    text('total-down', formatBytes(s?.bytesDown ?? 0));
    text('total-up', formatBytes(s?.bytesUp ?? 0));
    this.renderUptime();
  }

  private renderUptime(): void {
    const t = this.tunnel;
    text('uptime', t.state === 'connected' && this.daemon.state === 'ok' ? formatDuration(Date.now() - Date.parse(t.since)) : '–');
  }

  private addLog(l: LogEntry): void {
    const list = el('log');
    const li = document.createElement('li');
    li.className = `lvl-${l.level}`;
    const time = document.createElement('time');
    time.textContent = new Date(l.at).toLocaleTimeString();
    li.append(time, document.createTextNode(l.mod ? `${l.mod}: ${l.msg}` : l.msg));
    li.title = l.msg;
    list.prepend(li); // newest first: the box is short
    while (list.children.length > MAX_LOG_ROWS) list.lastElementChild?.remove();
  }
}

const app = new App(window.masque ?? createDevBridge());
void app.load();

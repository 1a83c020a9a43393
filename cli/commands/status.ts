/** `status [--json] [--watch]`: state, chain, addresses, rtt, bytes each way, uptime. */
import type { Command } from 'commander';
import type { StatusResponse, TunnelState, TunnelStats } from '../../src/control/schema.js';
import { clientFor, examples, outputFor } from '../context.js';
import { formatBytes, formatDuration, type Output } from '../output.js';
import { describeState } from '../progress.js';
import { CliError, EXIT } from '../exit-codes.js';

export function register(program: Command): void {
  examples(
    program
      .command('status')
      .description('show the tunnel state, chain, addresses, rtt, traffic and uptime')
      .option('--json', 'print JSON (with --watch: one event per line, NDJSON)')
      .option('-w, --watch', 'keep running and show every change and a stats tick each second')
      .option('--count <n>', 'with --watch: stop after n events', (v) => positiveInt(v, '--count'))
      .action(async (opts: { watch?: boolean; count?: number }, cmd: Command) => {
        if (opts.count !== undefined && !opts.watch) throw new CliError('ERR_USAGE', '--count needs --watch (it counts watched events)', EXIT.USAGE);
        const out = outputFor(cmd);
        const client = clientFor(cmd, out);
        if (!opts.watch) {
          const s = await client.status();
          if (out.isJson) out.json(s);
          else printStatus(out, s.state, s.stats);
          return;
        }
        const stream = await client.events({ statsIntervalMs: 1000 });
        const stop = (): void => stream.close();
        process.once('SIGINT', stop);
        let state: TunnelState | undefined;
        let n = 0;
        for await (const ev of stream) {
          if (out.isJson) out.json(ev, true);
          else if (ev.type === 'state') {
            state = ev.state;
            out.line(`${ev.at}  ${describeState(ev.state)}`);
          } else if (ev.type === 'stats' && state?.state === 'connected') {
            out.line(`${ev.at}  ${statsLine(ev.stats)}`);
          }
          if (opts.count !== undefined && ++n >= opts.count) break;
        }
        process.off('SIGINT', stop);
      }),
    ['relay-cli status', 'relay-cli status --json | jq .state.state', 'relay-cli status --watch'],
  );
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError('ERR_USAGE', `${flag} expects a positive integer, got ${JSON.stringify(v)}`, EXIT.USAGE);
  return n;
}

// rttMs is whole milliseconds, rounded down (the quiche binding's resolution, TunnelStats in
// src/control/schema.ts): "0.0 ms" means under 1 ms. The decimal stays for when it gets finer.
function statsLine(st: TunnelStats): string {
  const rtt = st.rttMs === null ? '-' : `${st.rttMs.toFixed(1)} ms`;
  return `rtt ${rtt}  ↑ ${formatBytes(st.bytesUp)}  ↓ ${formatBytes(st.bytesDown)}`;
}

/** What the RFC 9484 §7.2 probe says of the MTU (docs/protocol/mtu.md). */
const MTU_PROBE_NOTE: Record<string, string> = {
  verified: ' (1280-byte packets verified end to end)',
  unanswered: ' (not verified: the relay answers no echo)',
  null: '',
};

/** The human form of `status`. */
export function printStatus(out: Output, s: TunnelState, st: StatusResponse['stats']): void {
  const row = (k: string, v: string): void => out.line(`${(k + ':').padEnd(11)}${v}`);
  const colour = s.state === 'connected' ? 'green' : s.state === 'error' ? 'red' : s.state === 'disconnected' ? 'dim' : 'yellow';
  row('state', out.paint(colour, describeState(s)));
  if (s.state !== 'connected') return;
  row('chain', s.chain.map((h) => `${h.name ?? h.role} (${h.address})`).join(' → '));
  row('addresses', s.addresses.join(', '));
  row('routes', s.routes.join(', '));
  if (s.mtu !== undefined) row('mtu', `${s.mtu}${MTU_PROBE_NOTE[s.mtuProbe ?? 'null']}`);
  if (s.forwarding !== undefined) row('ingress', s.forwarding ? 'forwarded mode (inner packets pass it scrambled, not re-encrypted)' : 'tunnelled (every packet inside the outer connection)');
  row('rtt', st.rttMs === null ? '-' : `${st.rttMs.toFixed(1)} ms`);
  row('traffic', `↑ ${formatBytes(st.bytesUp)} (${st.packetsUp} pkts)  ↓ ${formatBytes(st.bytesDown)} (${st.packetsDown} pkts)`);
  row('uptime', st.uptimeMs === null ? '-' : formatDuration(st.uptimeMs));
}

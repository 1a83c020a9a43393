/**
 * `connect`: through the daemon (subscribe to events, POST /v0/connect, follow the stages), or
 * `--foreground`: the engine runs in this process until Ctrl-C, which disconnects (restoring
 * routes and DNS) before exiting.
 */
import { Option, type Command } from 'commander';
import type { ConnectOptions, TunnelState } from '../../src/control/schema.js';
import { clientFor, collect, examples, outputFor } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';
import { describeState, StateQueue, waitForConnected } from '../progress.js';
import type { Output } from '../output.js';

interface ConnectFlags {
  foreground?: boolean;
  singleHop?: boolean;
  ingress?: string;
  egress?: string;
  relay?: string;
  wait: boolean;
  timeout: number;
  config?: string;
  template?: string;
  ca?: string;
  proxyAuthorization?: string;
  killSwitch?: boolean;
  dns?: string[];
  include?: string[];
  exclude?: string[];
  logLevel?: string;
}

const FG = ' (--foreground only)';

export function register(program: Command): void {
  const cmd = program
    .command('connect')
    .description('bring the tunnel up through the daemon, or in this process with --foreground')
    .option('--foreground', 'run the tunnel in this process; Ctrl-C disconnects')
    .option('--single-hop', 'one relay (or the proxy template) instead of ingress → egress')
    .option('--ingress <name>', 'ingress relay name from the config')
    .option('--egress <name>', 'egress relay name from the config')
    .option('--relay <name>', 'relay name for --single-hop')
    .option('--no-wait', 'return once the attempt started (daemon mode)')
    .option('--timeout <seconds>', 'give up waiting after this long', parseSeconds, 30)
    .option('--json', 'print the final status as JSON')
    .option('--config <file>', `client config (default /etc/masque/client.toml)${FG}`)
    .option('--template <url>', `third-party CONNECT-IP proxy URI template (implies --single-hop)${FG}`)
    .option('--ca <file>', `CA bundle to verify the proxy${FG}`)
    .option('--proxy-authorization <value>', `Proxy-Authorization header for the proxy${FG}`)
    .option('--kill-switch', `block traffic outside the tunnel while (re)connecting${FG}`)
    .option('--dns <ip>', `DNS server, repeatable${FG}`, collect)
    .option('--include <cidr>', `split tunnel: route only these, repeatable${FG}`, collect)
    .option('--exclude <cidr>', `bypass the tunnel for these, repeatable${FG}`, collect)
    .addOption(new Option('--log-level <level>', `engine log level${FG}`).choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
    .action(async (flags: ConnectFlags, c: Command) => {
      const out = outputFor(c);
      const opts: ConnectOptions = { singleHop: flags.singleHop, ingress: flags.ingress, egress: flags.egress, relay: flags.relay };
      for (const k of Object.keys(opts) as (keyof ConnectOptions)[]) if (opts[k] === undefined) delete opts[k];
      if (flags.foreground) return runForeground(flags, opts, out);
      const onlyFg = (['config', 'template', 'ca', 'proxyAuthorization', 'killSwitch', 'dns', 'include', 'exclude', 'logLevel'] as const).filter((k) => flags[k] !== undefined);
      if (onlyFg.length > 0) {
        const flag = '--' + onlyFg[0]!.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`);
        throw new CliError('ERR_USAGE', `${flag} needs --foreground (the daemon uses its own config; see relay-cli config set)`, EXIT.USAGE);
      }
      const client = clientFor(c, out);
      const stream = await client.events();
      try {
        const r = await client.connect(opts);
        if (!flags.wait) {
          if (out.isJson) out.json(r);
          else out.line(describeState(r.state));
          return;
        }
        const states = (async function* () {
          for await (const ev of stream) if (ev.type === 'state') yield ev.state;
        })();
        const ac = new AbortController();
        const onSig = (): void => ac.abort();
        process.once('SIGINT', onSig);
        try {
          const final = await waitForConnected(states, r.state, out, flags.timeout * 1000, ac.signal);
          printConnected(out, out.isJson ? await client.status() : final);
        } finally {
          process.off('SIGINT', onSig);
        }
      } finally {
        stream.close();
      }
    });
  examples(cmd, [
    'relay-cli connect',
    'relay-cli connect --single-hop --relay egress-1',
    'sudo relay-cli connect --foreground --config client.toml',
    "sudo relay-cli connect --foreground --single-hop --template 'https://proxy.example:443/.well-known/masque/ip/{target}/{ipproto}/' --ca ca.pem",
  ]);
}

/** Node timers hold at most 2^31-1 ms; a longer one fires after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > MAX_TIMEOUT_SECONDS) {
    throw new CliError('ERR_USAGE', `--timeout expects seconds in (0, ${MAX_TIMEOUT_SECONDS}], got ${JSON.stringify(v)}`, EXIT.USAGE);
  }
  return n;
}

function printConnected(out: Output, s: TunnelState | object): void {
  if (out.isJson) out.json(s);
  else out.line(out.paint('green', describeState(s as TunnelState)));
}

async function runForeground(flags: ConnectFlags, opts: ConnectOptions, out: Output): Promise<void> {
  const { loadClientConfig, assertConnectable } = await import('../../src/config/client.js');
  const cfg = await loadClientConfig(flags);
  assertConnectable(cfg);
  const { createRootLogger } = await import('../../src/log/logger.js');
  const log = createRootLogger({ level: (flags.logLevel ?? (cfg.logLevel === 'info' ? 'warn' : cfg.logLevel)) as 'info', name: 'relay-cli' });
  const { loadEngineModule } = await import('../engines.js');
  const engine = (await loadEngineModule()).createEngine(cfg, { log: log.child({ mod: 'client' }) });
  const queue = new StateQueue();
  const unsubscribe = engine.subscribe((ev) => {
    if (ev.type === 'state') queue.push(ev.state);
  });
  const ac = new AbortController();
  let isStopping = false;
  const stop = async (code: number): Promise<never> => {
    isStopping = true;
    out.info('disconnecting…');
    unsubscribe();
    queue.close();
    await engine.close(); // restores routes and DNS
    process.exit(code);
  };
  const onSignal = (): void => {
    if (!ac.signal.aborted) ac.abort();
    else void stop(EXIT.INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const initial = await engine.connect(opts);
    printConnected(out, await waitForConnected(queue, initial, out, flags.timeout * 1000, ac.signal));
  } catch (e) {
    unsubscribe();
    await engine.close();
    throw e;
  }
  out.info('running in the foreground; Ctrl-C disconnects');
  // Keep following state changes (reconnects) until a signal.
  // Hold the event loop open ourselves: the engine's sockets may not (or may be unref'd).
  const keepAlive = setInterval(() => {}, 1 << 30);
  const done = new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }));
  void (async () => {
    for await (const s of queue) if (!isStopping) out.info(describeState(s));
  })();
  await done;
  clearInterval(keepAlive);
  await stop(EXIT.OK);
}

/**
 * `serve`: run a relay (ingress, egress or both). Config file + flags → RelayConfig, then
 * src/relay/main.js `runRelay` (loaded lazily). SIGHUP reloads the file; SIGINT/SIGTERM stop.
 * `--check` validates and prints the effective config without starting anything.
 */
import { Option, type Command } from 'commander';
import type { RelayFlags } from '../../src/config/relay.js';
import { collect, examples, outputFor } from '../context.js';

type ServeFlags = RelayFlags & { check?: boolean; json?: boolean };

export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run a relay; flags override the config file')
    .option('--config <file>', 'relay config (TOML)')
    .addOption(new Option('--role <role>', 'relay role').choices(['ingress', 'egress', 'both']))
    .option('--listen <host:port>', 'UDP address to listen on (IP literal)')
    .option('--cert <file>', 'TLS certificate chain (PEM)')
    .option('--cert-key <file>', 'TLS private key (PEM)')
    .option('--identity <file>', 'Noise static private key file')
    .addOption(new Option('--auth <mode>', 'client authentication').choices(['noise', 'bearer', 'none']))
    .option('--force-auth-none', 'allow --auth none on a non-loopback address')
    .option('--authorized-keys <file>', 'client public keys allowed (noise)')
    .option('--allow-target <cidr>', 'egress: allow a non-public destination prefix, repeatable', collect)
    .option('--allow-egress <host:port>', 'ingress: allow forwarding to this egress, repeatable', collect)
    .option('--trusted-ingress <cidr>', 'egress: trust ingress relays from this prefix, repeatable', collect)
    .option('--metrics <host:port>', 'serve Prometheus metrics here')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .option('--check', 'validate the configuration, print it and exit')
    .option('--json', 'with --check: print the effective config as JSON')
    .action(async (flags: ServeFlags, c: Command) => {
      const out = outputFor(c);
      const { loadRelayConfig } = await import('../../src/config/relay.js');
      const cfg = await loadRelayConfig(flags);
      if (flags.check) {
        const { redactSecrets } = await import('../../src/control/redact.js');
        if (out.isJson) out.json(redactSecrets(cfg));
        else out.line(`config ok: role ${cfg.role}, listen ${cfg.listen.host}:${cfg.listen.port}, auth ${cfg.auth}`);
        return;
      }
      const { createRootLogger } = await import('../../src/log/logger.js');
      const { loadRelayModule } = await import('../engines.js');
      const relayModule = await loadRelayModule();
      const log = createRootLogger({ level: cfg.logLevel, name: 'masque-relay' });
      const relay = await relayModule.runRelay(cfg, { log: log.child({ mod: 'relay' }) });
      log.info({ role: cfg.role, listen: cfg.listen }, 'relay running');
      process.on('SIGHUP', () => {
        // Re-read the same file with the same flags; a bad file keeps the running config.
        loadRelayConfig(flags)
          .then((next) => relay.reload(next))
          .then(() => log.info('config reloaded'))
          .catch((e: unknown) => log.error({ err: e }, 'reload failed; keeping the running config'));
      });
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          log.info({ sig }, 'stopping');
          void relay.close().then(resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
  examples(cmd, [
    'relay-cli serve --config /etc/masque/relay.toml',
    'relay-cli serve --role both --listen 127.0.0.1:4433',
    'relay-cli serve --role egress --listen 0.0.0.0:4433 --trusted-ingress 198.51.100.0/24 --allow-target 10.8.0.0/16',
    'relay-cli serve --config relay.toml --check',
  ]);
}

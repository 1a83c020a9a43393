/**
 * `daemon`: the privileged process. Loads the client config, creates the tunnel engine
 * (src/client/engine.js, loaded lazily), serves the control API around it on the Unix socket,
 * and on SIGINT/SIGTERM disconnects, removes the socket and exits 0.
 */
import { Option, type Command } from 'commander';
import { DEFAULT_SOCKET_GROUP } from '../../src/control/schema.js';
import { CLI_VERSION, examples, outputFor, socketPathFor } from '../context.js';

interface DaemonFlags {
  config?: string;
  group: string;
  readOnlySocket?: string;
  logLevel?: string;
}

/** Give up on a clean shutdown after this long: a wedged engine must not keep the socket. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

export function register(program: Command): void {
  const cmd = program
    .command('daemon')
    .description('run the privileged daemon that owns the tunnel and serves the control API')
    .option('--config <file>', 'client config', '/etc/masque/client.toml')
    .option('--group <name>', 'group owning the control socket (mode 0660)', DEFAULT_SOCKET_GROUP)
    .option('--read-only-socket <path>', 'also serve read-only routes on this socket (mode 0666)')
    .addOption(new Option('--log-level <level>', 'log level (default: from the config)').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
    .action(async (flags: DaemonFlags, c: Command) => {
      const out = outputFor(c);
      const [{ loadClientConfig }, { createRootLogger, lineSink, levelName }, { ControlServer }, { loadEngineModule }] = await Promise.all([
        import('../../src/config/client.js'),
        import('../../src/log/logger.js'),
        import('../../src/control/server.js'),
        import('../engines.js'),
      ]);
      const cfg = await loadClientConfig({ config: flags.config, logLevel: flags.logLevel });
      const engineModule = await loadEngineModule();
      // Refuse a socket another daemon serves before the engine exists: creating an engine
      // may already touch the system (TUN, routes), and two daemons must never race for it.
      const { prepareSocketPath } = await import('../../src/control/socket.js');
      await prepareSocketPath(socketPathFor(c));
      // Our own log lines also go to `/v0/events?logs=1` subscribers (tray app log view); the
      // server exists only after the logger, hence the holder.
      const target: { server?: InstanceType<typeof ControlServer> } = {};
      const sink = lineSink((o) => target.server?.publish({ level: levelName(o.level), msg: String(o.msg ?? ''), mod: typeof o.mod === 'string' ? o.mod : undefined }));
      const log = createRootLogger({ level: cfg.logLevel, name: 'masque-daemon', extraStreams: [sink] });
      await engineModule.recoverAfterCrash?.(cfg, { log: log.child({ mod: 'client' }) });
      const engine = engineModule.createEngine(cfg, { log: log.child({ mod: 'client' }) });
      const server = new ControlServer({ backend: engine, log: log.child({ mod: 'control' }), version: CLI_VERSION });
      target.server = server;
      try {
        await server.listen({ path: socketPathFor(c), group: flags.group });
        if (flags.readOnlySocket) await server.listen({ path: flags.readOnlySocket, group: null, access: 'read', mode: 0o666 });
      } catch (e) {
        await server.close();
        await engine.close();
        throw e;
      }
      log.info({ version: CLI_VERSION, config: cfg.file }, 'daemon ready');
      await new Promise<void>((resolve) => {
        const shutdown = (sig: string): void => {
          log.info({ sig }, 'shutting down');
          setTimeout(() => {
            out.warn('shutdown timed out; exiting anyway');
            process.exit(1);
          }, SHUTDOWN_TIMEOUT_MS).unref();
          // Disconnect first, while the socket is still up, so watchers see `disconnected`.
          void engine
            .close()
            .catch((e: unknown) => log.error({ err: e }, 'engine close failed'))
            .then(() => server.close())
            .then(resolve);
        };
        process.once('SIGINT', () => shutdown('SIGINT'));
        process.once('SIGTERM', () => shutdown('SIGTERM'));
      });
    });
  examples(cmd, [
    'sudo relay-cli daemon',
    'sudo relay-cli daemon --config /etc/masque/client.toml --socket /run/masque/daemon.sock',
    '# as a service: ExecStart=/usr/bin/relay-cli daemon',
  ]);
}

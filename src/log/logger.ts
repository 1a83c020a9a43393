/**
 * The pino root logger factory and child conventions (STYLE.md §6).
 *
 * Only entry points (cli/, app/electron/main) call `createRootLogger`; everything else receives
 * `{ log }` and derives `childLogger(log, 'relay.ingress', { connId })`. Logs go to stderr so
 * that stdout stays clean for command output and `--json`. JSON by default; pino-pretty when
 * stderr is a TTY. Keys and tokens are redacted by path (REDACT_PATHS).
 */
import { Writable } from 'node:stream';
import pino, { type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths whose values never reach a log line. pino's `*` matches one level, so each secret
 * is listed at the top level and one level down (`{ cfg: { privateKey } }`).
 */
export const REDACT_PATHS: string[] = (() => {
  const keys = ['privateKey', 'private_key', 'token', 'tokens', 'bearerTokens', 'authorization', 'proxyAuthorization', 'password', 'secret'];
  const paths = keys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  paths.push('headers.authorization', 'headers["proxy-authorization"]', '*.headers.authorization', '*.headers["proxy-authorization"]');
  return paths;
})();

export interface RootLoggerOptions {
  /** Default `info`, or env MASQUE_LOG_LEVEL. */
  level?: LogLevel;
  /** Pretty output; default: stderr is a TTY and NO_COLOR/MASQUE_LOG_JSON unset. */
  isPretty?: boolean;
  /** Where lines go; default stderr (fd 2). */
  destination?: NodeJS.WritableStream;
  /** Extra consumers of each JSON line, e.g. the daemon's event stream (`lineSink`). */
  extraStreams?: NodeJS.WritableStream[];
  /** Bound to every line as `name` (e.g. `relay-cli`). */
  name?: string;
}

/** Make the process's root logger. Call once per entry point. */
export function createRootLogger(opts: RootLoggerOptions = {}): Logger {
  const level = opts.level ?? envLevel() ?? 'info';
  const dest = opts.destination ?? process.stderr;
  const isPretty = opts.isPretty ?? ((dest as { isTTY?: boolean }).isTTY === true && !process.env.MASQUE_LOG_JSON);
  const main: NodeJS.WritableStream = isPretty
    ? pretty({ destination: dest, colorize: !process.env.NO_COLOR, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true })
    : dest;
  const base = { level, name: opts.name, redact: { paths: REDACT_PATHS, censor: '<redacted>' } };
  if (!opts.extraStreams || opts.extraStreams.length === 0) return pino(base, main);
  const streams = [main, ...opts.extraStreams].map((stream) => ({ stream, level: 'trace' as Level }));
  return pino(base, pino.multistream(streams));
}

/** A child logger for a module: binds `{ mod }` plus ids (connId, flowId, …). */
export function childLogger(parent: Logger, mod: string, bindings: Record<string, unknown> = {}): Logger {
  return parent.child({ mod, ...bindings });
}

/** A logger that drops everything (tests, `--quiet`). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** True for a valid level name. */
export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/**
 * A writable that receives pino's JSON lines and hands each parsed object to `onLine`.
 * The daemon uses it to forward its logs to `/v0/events?logs=1` subscribers.
 */
export function lineSink(onLine: (obj: Record<string, unknown>) => void): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        try {
          onLine(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not JSON: ignore, a log sink must never throw into pino
        }
      }
      cb();
    },
  });
}

/** pino's numeric levels back to names, for forwarding lines. */
export function levelName(n: unknown): 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' {
  const names = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' } as const;
  return names[n as keyof typeof names] ?? 'info';
}

function envLevel(): LogLevel | undefined {
  const v = process.env.MASQUE_LOG_LEVEL;
  return v !== undefined && isLogLevel(v) ? v : undefined;
}

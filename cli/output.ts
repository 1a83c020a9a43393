/**
 * Everything relay-cli prints goes through `Output`: results on stdout (text or `--json`),
 * warnings, progress and errors on stderr. Colour only when the stream is a TTY and neither
 * NO_COLOR nor `--no-color` is set. Errors are one line, `relay-cli: ERR_CODE: message`;
 * the stack (and causes) only with `--verbose`.
 */
import { isMasqueError } from '../src/core/errors.js';

export interface OutputOptions {
  isJson?: boolean;
  isVerbose?: boolean;
  /** `--no-color` sets false; undefined = decide by TTY and NO_COLOR. */
  color?: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export class Output {
  readonly isJson: boolean;
  readonly isVerbose: boolean;
  readonly isColor: boolean;
  /** stderr is a TTY: show progress (stages of long waits). */
  readonly isInteractive: boolean;
  private readonly stdout: NodeJS.WriteStream;
  private readonly stderr: NodeJS.WriteStream;
  private hasProgress = false;
  /** `--no-color` given: applies to stderr's error and warning lines too. */
  private readonly isNoColor: boolean;

  constructor(opts: OutputOptions = {}) {
    this.stdout = opts.stdout ?? process.stdout;
    this.stderr = opts.stderr ?? process.stderr;
    this.isJson = opts.isJson ?? false;
    this.isVerbose = opts.isVerbose ?? false;
    this.isColor = opts.color !== false && this.stdout.isTTY === true && !process.env.NO_COLOR;
    this.isInteractive = this.stderr.isTTY === true;
    this.isNoColor = opts.color === false;
  }

  /** `text` in a colour when colour is on. */
  paint(colour: Colour, text: string): string {
    return this.isColor ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
  }

  /** A line of result text on stdout. */
  line(text = ''): void {
    this.clearProgress();
    this.stdout.write(text + '\n');
  }

  /** A JSON document on stdout (pretty); `ndjson` for one compact line per value (streams). */
  json(v: unknown, isNdjson = false): void {
    this.clearProgress();
    this.stdout.write((isNdjson ? JSON.stringify(v) : JSON.stringify(v, null, 2)) + '\n');
  }

  /** A note on stderr that never disturbs stdout/--json. */
  info(text: string): void {
    this.clearProgress();
    this.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    this.clearProgress();
    this.stderr.write(`relay-cli: ${this.paintErr('yellow', 'warning')}: ${oneLine(text)}\n`);
  }

  /** Replaceable status line on a TTY stderr (no-op otherwise). */
  progress(text: string): void {
    if (!this.isInteractive) return;
    this.stderr.write(`\r\x1b[K${text}`);
    this.hasProgress = true;
  }

  clearProgress(): void {
    if (!this.hasProgress) return;
    this.stderr.write('\r\x1b[K');
    this.hasProgress = false;
  }

  /** The one-line error (stack with --verbose). */
  error(e: unknown): void {
    this.clearProgress();
    const code = isMasqueError(e) ? e.code : 'ERR_UNEXPECTED';
    const message = e instanceof Error ? e.message : String(e);
    this.stderr.write(`relay-cli: ${this.paintErr('red', code)}: ${oneLine(message)}\n`);
    if (this.isVerbose) {
      for (let cur: unknown = e; cur instanceof Error; cur = cur.cause) {
        this.stderr.write(`${cur === e ? '' : 'caused by: '}${cur.stack ?? cur.message}\n`);
      }
    }
  }

  private paintErr(colour: Colour, text: string): string {
    return !this.isNoColor && this.stderr.isTTY === true && !process.env.NO_COLOR ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
  }
}

/** Collapse a message to one line: errors must stay one line for log scrapers. */
export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** 1234567 → "1.2 MB". */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** 3723000 → "1h 02m 03s". */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (x: number) => String(x).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

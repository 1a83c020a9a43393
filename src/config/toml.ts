/**
 * TOML loading and a small typed reader that turns a parsed document into a validated config
 * while naming the key and line of every problem.
 *
 * smol-toml reports positions only for syntax errors, so for value errors we scan the source
 * once for `[table]`, `[[array]]` and `key =` lines and map each dotted path to its line
 * (`lineIndex`). Values that came from command-line flags are recorded in `origins`, so an
 * error about them names the flag instead of a line.
 */
import { open } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import { ConfigError, CONFIG_CODES } from './errors.js';

export type Raw = Record<string, unknown>;

/** Where values came from: the file (with its line index) and the flags laid over it. */
export interface Source {
  file?: string;
  lines: Map<string, number>;
  /** Dotted key path → flag name, for values set by flags. */
  origins: Map<string, string>;
}

/** A parsed document and its source map. */
export interface Loaded {
  raw: Raw;
  source: Source;
}

/**
 * Larger than any real config. A bigger "config" is a wrong path (a log, an image, /dev/zero):
 * reading it whole took seconds and hundreds of MB, and /dev/zero ended in "cannot read
 * config (error)" from V8's string limit.
 */
export const MAX_CONFIG_BYTES = 1 << 20;

/** Read and parse a TOML file. Throws ConfigError READ (with errno cause) or SYNTAX (with line). */
export async function loadTomlFile(file: string): Promise<Loaded> {
  let text: string;
  try {
    text = await readAtMost(file, MAX_CONFIG_BYTES);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const errno = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(CONFIG_CODES.READ, `cannot read config (${errno})`, { file }, { cause: e });
  }
  return parseToml(text, file);
}

/** The file's text; ConfigError READ when it holds more than `max` bytes. */
async function readAtMost(file: string, max: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = (await fh.read(buf, n, buf.length - n, null)).bytesRead;
    if (n > max) throw new ConfigError(CONFIG_CODES.READ, `cannot read config: larger than ${max / 2 ** 20} MiB (not a config file?)`, { file });
    return buf.toString('utf8', 0, n);
  } finally {
    await fh.close();
  }
}

/** Parse TOML text. `file` is only used in messages. Throws ConfigError SYNTAX. */
export function parseToml(text: string, file?: string): Loaded {
  let raw: Raw;
  try {
    raw = parse(text) as Raw;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ConfigError(CONFIG_CODES.SYNTAX, `TOML syntax error at column ${e.column}: ${first}`, { file, line: e.line }, { cause: e });
    }
    throw e;
  }
  return { raw, source: { file, lines: lineIndex(text), origins: new Map() } };
}

/** An empty document (no config file): every value is a default or a flag. */
export function emptyLoaded(): Loaded {
  return { raw: {}, source: { lines: new Map(), origins: new Map() } };
}

const KEY = String.raw`(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')`;
const KEY_PATH = new RegExp(String.raw`^\s*(${KEY}(?:\s*\.\s*${KEY})*)\s*=`);
const TABLE = new RegExp(String.raw`^\s*\[\s*(${KEY}(?:\s*\.\s*${KEY})*)\s*\]`);
const ARRAY_TABLE = new RegExp(String.raw`^\s*\[\[\s*(${KEY}(?:\s*\.\s*${KEY})*)\s*\]\]`);

function splitKey(k: string): string[] {
  return k.split(/\s*\.\s*(?=(?:[^"']|"[^"]*"|'[^']*')*$)/).map((p) => p.trim().replace(/^["']|["']$/g, ''));
}

/**
 * Map dotted paths (`egress.ipv4_pool`, `relays[0].name`) to 1-based lines. Best effort: a
 * `key =` inside a multi-line string could be mistaken for a key, which only affects the
 * line number shown.
 */
export function lineIndex(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const counts = new Map<string, number>();
  let prefix = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let m: RegExpExecArray | null;
    if ((m = ARRAY_TABLE.exec(line))) {
      const name = splitKey(m[1]!).join('.');
      const n = counts.get(name) ?? 0;
      counts.set(name, n + 1);
      prefix = `${name}[${n}]`;
    } else if ((m = TABLE.exec(line))) {
      prefix = splitKey(m[1]!).join('.');
    } else if ((m = KEY_PATH.exec(line))) {
      const path = [prefix, ...splitKey(m[1]!)].filter((p) => p !== '').join('.');
      if (!out.has(path)) out.set(path, i + 1);
      continue;
    } else continue;
    if (!out.has(prefix)) out.set(prefix, i + 1);
  }
  return out;
}

/**
 * Lay command-line values over a document: `[path, value, flag]` triples, e.g.
 * `['egress.allow_targets', ['10.0.0.0/8'], '--allow-target']`. `undefined` values are
 * skipped (flag not given). Flags replace lists, they do not append.
 */
export function overlayFlags(loaded: Loaded, flags: [path: string, value: unknown, flag: string][]): void {
  for (const [path, value, flag] of flags) {
    if (value === undefined) continue;
    const parts = path.split('.');
    let obj = loaded.raw;
    for (const p of parts.slice(0, -1)) {
      const next = obj[p];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) obj[p] = {};
      obj = obj[p] as Raw;
    }
    obj[parts[parts.length - 1]!] = value;
    loaded.source.origins.set(path, flag);
  }
}

/** Location of a dotted path for error messages: the flag, or the nearest line we know. */
export function locate(source: Source, path: string): { key: string; file?: string; line?: number; flag?: string } {
  for (let p = path; p !== ''; p = parentPath(p)) {
    const flag = source.origins.get(p);
    if (flag !== undefined) return { key: path, flag };
    const line = source.lines.get(p);
    if (line !== undefined) return { key: path, file: source.file, line };
  }
  return { key: path, file: source.file };
}

function parentPath(p: string): string {
  const m = /^(.*)(\[\d+\]|\.[^.[\]]+)$/.exec(p);
  return m ? m[1]! : '';
}

/** Throws ConfigError(code) located at `path`. */
export function fail(source: Source, path: string, message: string, code: string = CONFIG_CODES.INVALID, cause?: unknown): never {
  throw new ConfigError(code, message, locate(source, path), cause === undefined ? undefined : { cause });
}

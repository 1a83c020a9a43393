/**
 * `Fields`: a typed reader over one TOML table. Each getter validates one key and throws a
 * ConfigError naming the key and line (or flag); `done()` rejects keys nobody asked for, so a
 * typo (`listn = …`) is an error instead of a silently ignored setting.
 */
import { isMasqueError } from '../core/errors.js';
import { CONFIG_CODES } from './errors.js';
import { fail, type Raw, type Source } from './toml.js';

export class Fields {
  private readonly seen = new Set<string>();

  constructor(
    private readonly obj: Raw,
    /** Dotted path of this table; '' for the root. */
    readonly path: string,
    readonly source: Source,
  ) {}

  /** Dotted path of a key of this table. */
  at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  /** The raw value (marks the key as known). */
  raw(key: string): unknown {
    this.seen.add(key);
    return this.obj[key];
  }

  /** Throw a ConfigError INVALID (or `code`) at this key. */
  fail(key: string, message: string, code: string = CONFIG_CODES.INVALID, cause?: unknown): never {
    return fail(this.source, this.at(key), message, code, cause);
  }

  str(key: string): string | undefined;
  str(key: string, def: string): string;
  str(key: string, def?: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${describe(v)}`);
    return v;
  }

  /** A string that must be present. */
  required(key: string, what = 'a string'): string {
    const v = this.str(key);
    if (v === undefined || v === '') this.fail(key, `missing: expected ${what}`, CONFIG_CODES.MISSING_KEY);
    return v;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], def: T): T {
    const v = this.str(key, def);
    if (!(choices as readonly string[]).includes(v)) this.fail(key, `expected one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${describe(v)}`);
    return v;
  }

  int(key: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, `expected an integer, got ${describe(v)}`);
    if (v < min || v > max) this.fail(key, `expected an integer in ${min}..${max}, got ${v}`);
    return v;
  }

  intList(key: string, def: number[], min: number, max: number): number[] {
    const v = this.raw(key);
    if (v === undefined) return [...def];
    if (!Array.isArray(v)) this.fail(key, `expected a list of integers, got ${describe(v)}`);
    v.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
        fail(this.source, `${this.at(key)}[${i}]`, `expected an integer in ${min}..${max}, got ${describe(x)}`);
      }
    });
    return v as number[];
  }

  strList(key: string, def: string[] = []): string[] {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (!Array.isArray(v)) this.fail(key, `expected a list of strings, got ${describe(v)}`);
    v.forEach((x, i) => {
      if (typeof x !== 'string') fail(this.source, `${this.at(key)}[${i}]`, `expected a string, got ${describe(x)}`);
    });
    return v as string[];
  }

  /** Run `check` on a value and turn its MasqueError into a ConfigError at this key (or list item). */
  check<T>(key: string, value: T, check: (v: T) => unknown, index?: number): void {
    try {
      check(value);
    } catch (e) {
      const path = index === undefined ? this.at(key) : `${this.at(key)}[${index}]`;
      const msg = isMasqueError(e) || e instanceof Error ? e.message : String(e);
      fail(this.source, path, msg, CONFIG_CODES.INVALID, e);
    }
  }

  /** `check` for every item of a list. */
  checkEach(key: string, values: string[], check: (v: string) => unknown): void {
    values.forEach((v, i) => this.check(key, v, check, i));
  }

  /** A sub-table (absent = empty). */
  table(key: string): Fields {
    const v = this.raw(key);
    if (v === undefined) return new Fields({}, this.at(key), this.source);
    if (!isTable(v)) this.fail(key, `expected a table, got ${describe(v)}`);
    return new Fields(v, this.at(key), this.source);
  }

  /** An array of tables (`[[key]]`). */
  tables(key: string): Fields[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isTable)) this.fail(key, `expected an array of tables ([[${key}]]), got ${describe(v)}`);
    return v.map((t, i) => new Fields(t, `${this.at(key)}[${i}]`, this.source));
  }

  /** Reject every key of this table that no getter read. */
  done(): void {
    for (const k of Object.keys(this.obj)) {
      if (!this.seen.has(k)) this.fail(k, 'unknown key', CONFIG_CODES.UNKNOWN_KEY);
    }
  }
}

function isTable(v: unknown): v is Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a date';
  if (v !== null && typeof v === 'object') return 'a table';
  return `${typeof v} ${JSON.stringify(v)}`;
}

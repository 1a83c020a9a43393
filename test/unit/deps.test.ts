/**
 * Layering rules (STYLE.md §3), in the spirit of Tailscale's deps_test.go: static imports
 * only point down, client and relay never import each other, only quic/native.ts touches
 * @matrixai/quic, sans-IO layers import no I/O modules, and cli/ + app/electron/ reach the
 * engines only through the control API (dynamic `await import()` is the allowed escape).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function files(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((n) => {
    const p = path.join(dir, n);
    if (n === 'node_modules' || n === 'dist' || n === 'build') return [];
    return statSync(path.join(ROOT, p)).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Static import specifiers of a file, resolved to repo paths when relative. */
function imports(file: string): string[] {
  const src = readFileSync(path.join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    const spec = m[1];
    out.push(spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)).replace(/\.js$/, '.ts') : spec);
  }
  return out;
}

const layerOf = (p: string) => /^src\/([^/]+)\//.exec(p)?.[1] ?? (p.startsWith('cli/') ? 'cli' : p.startsWith('app/') ? 'app' : null);

/** layer → layers it may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  core: [],
  wire: ['core'],
  log: ['core'],
  quic: ['core', 'wire'],
  h3: ['core', 'wire', 'quic'],
  identity: ['core', 'wire'],
  privacy: ['core', 'wire', 'identity', 'h3', 'quic', 'masque', 'config'],
  tun: ['core', 'wire'],
  masque: ['core', 'wire', 'quic', 'h3'],
  config: ['core', 'wire', 'identity', 'masque'],
  control: ['core', 'log', 'config', 'identity'],
  client: ['core', 'wire', 'quic', 'h3', 'masque', 'tun', 'identity', 'privacy', 'config', 'control', 'log'],
  relay: ['core', 'wire', 'quic', 'h3', 'masque', 'tun', 'identity', 'privacy', 'config', 'control', 'log'],
  cli: ['control', 'log', 'core', 'config', 'identity'],
  app: ['control', 'log', 'core'],
};

const SANS_IO = /^src\/(wire|h3\/(frame|settings|stream|conn|message|control|request|events|capsule|datagram|qpack\/.*)|identity\/(noise-auth|noise-payload|keys|authorized-keys|replay-guard)|masque\/(capsule|connect-ip-capsules|template|proxy-request|proxy-status|policy|address-pool|ip-prefix))\.ts$/;
const IO_MODULES = /^(node:)?(dgram|net|fs|fs\/promises|timers|child_process|http|https)$|^pino/;

const all = [...files('src'), ...files('cli'), ...files('app/electron')];

test('imports only point down the layers (STYLE.md §3)', () => {
  const bad: string[] = [];
  for (const f of all) {
    const from = layerOf(f);
    if (!from || !(from in ALLOWED)) continue;
    for (const i of imports(f)) {
      const to = layerOf(i);
      if (!to || to === from) continue;
      if (!ALLOWED[from].includes(to)) bad.push(`${f} → ${i}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('only src/quic/native.ts imports @matrixai/quic', () => {
  const bad = all.filter((f) => f !== 'src/quic/native.ts' && imports(f).some((i) => i.startsWith('@matrixai/quic')));
  assert.deepEqual(bad, []);
});

test('sans-IO files import no sockets, files, timers or loggers', () => {
  const checked = all.filter((f) => SANS_IO.test(f));
  assert.ok(checked.length > 20, `expected many sans-IO files, found ${checked.length}`);
  const bad = checked.flatMap((f) => imports(f).filter((i) => IO_MODULES.test(i)).map((i) => `${f} → ${i}`));
  assert.deepEqual(bad, []);
});

test('the dependency checker itself catches a violation', () => {
  // Guard against a regex that matches nothing: a known-good file must yield its imports.
  const q = imports('src/quic/endpoint.ts');
  assert.ok(q.includes('src/quic/native.ts'), q.join(','));
});

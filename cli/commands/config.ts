/**
 * `config init|check|show|set`. init/check work on files (no daemon); show/set go through the
 * daemon's `GET/PATCH /v0/config` (secrets come back redacted).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { clientFor, examples, outputFor } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';

interface KindFlags {
  client?: boolean;
  relay?: boolean;
}

function kindOf(flags: KindFlags): 'client' | 'relay' {
  if (flags.client === flags.relay) throw new CliError('ERR_USAGE', 'give exactly one of --client or --relay', EXIT.USAGE);
  return flags.client ? 'client' : 'relay';
}

export function register(program: Command): void {
  const config = program.command('config').description('create, check, show and change configuration');
  examples(config, ['relay-cli config init --client', 'relay-cli config check --relay relay.toml', 'relay-cli config show --json']);

  examples(
    config
      .command('init')
      .description('write a commented config with fresh keys (files mode 0600)')
      .option('--client', 'a client config (client.toml)')
      .option('--relay', 'a relay config (relay.toml, plus relay.key and authorized_keys beside it)')
      .option('-o, --output <file>', 'where to write (default ./client.toml or ./relay.toml)')
      .option('--force', 'replace an existing config (a relay key is kept)')
      .option('--json', 'print the files written and the public key as JSON')
      .action(async (flags: KindFlags & { output?: string; force?: boolean }, c: Command) => {
        const out = outputFor(c);
        const kind = kindOf(flags);
        const file = path.resolve(flags.output ?? `${kind}.toml`);
        const { initClientConfig, initRelayConfig } = await import('../../src/config/init.js');
        const r = await (kind === 'client' ? initClientConfig : initRelayConfig)(file, { force: flags.force });
        if (out.isJson) return out.json(r);
        for (const f of r.files) out.line(`wrote ${f}`);
        out.line(`public key: ${r.publicKey}`);
      }),
    ['relay-cli config init --client -o /etc/masque/client.toml', 'relay-cli config init --relay -o /etc/masque/relay.toml'],
  );

  examples(
    config
      .command('check')
      .description('validate a config file; errors name the key and line')
      .argument('<file>', 'config file')
      .option('--client', 'the file is a client config')
      .option('--relay', 'the file is a relay config')
      .option('--json', 'print the effective config (secrets redacted) as JSON')
      .action(async (file: string, flags: KindFlags, c: Command) => {
        const out = outputFor(c);
        const kind = kindOf(flags);
        const cfg = kind === 'client' ? await (await import('../../src/config/client.js')).loadClientConfig({ config: file }) : await (await import('../../src/config/relay.js')).loadRelayConfig({ config: file });
        const { redactSecrets } = await import('../../src/control/redact.js');
        if (out.isJson) out.json(redactSecrets(cfg));
        else out.line(`${file}: ok`);
      }),
    ['relay-cli config check --client /etc/masque/client.toml', 'relay-cli config check --relay relay.toml --json'],
  );

  examples(
    config
      .command('show')
      .description("show the daemon's client config (secrets redacted)")
      .option('--json', 'print JSON')
      .action(async (_flags, c: Command) => {
        const out = outputFor(c);
        const cfg = await clientFor(c, out).getConfig();
        if (out.isJson) return out.json(cfg);
        for (const [k, v] of Object.entries(cfg)) out.line(`${k} = ${JSON.stringify(v)}`);
      }),
    ['relay-cli config show'],
  );

  examples(
    config
      .command('set')
      .description("change the daemon's client config (applies on the next connect)")
      .argument('<key=value...>', 'top-level keys in camelCase; values are JSON or plain strings')
      .option('--json', 'print the resulting config as JSON')
      .action(async (pairs: string[], _flags, c: Command) => {
        const out = outputFor(c);
        const patch = parseSetPairs(pairs);
        const cfg = await clientFor(c, out).setConfig(patch);
        if (out.isJson) out.json(cfg);
        else out.line('ok');
      }),
    ['relay-cli config set killSwitch=true', `relay-cli config set 'dns={"servers":["9.9.9.9"]}'`],
  );
}

/**
 * `config set` arguments → the PATCH body: `key=value`, the value JSON or else a plain string.
 * Own properties only: `patch[k] = v` on a plain object dropped k = "__proto__" silently, and
 * the daemon answered "ok" to a key it never saw; sent as-is it is refused there.
 */
export function parseSetPairs(pairs: readonly string[]): Record<string, unknown> {
  const patch = Object.create(null) as Record<string, unknown>;
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CliError('ERR_USAGE', `expected key=value, got ${JSON.stringify(p)}`, EXIT.USAGE);
    const raw = p.slice(eq + 1);
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      // a plain string
    }
    patch[p.slice(0, eq)] = v;
  }
  return patch;
}

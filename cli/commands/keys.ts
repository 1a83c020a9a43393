/** `keygen` and `pubkey`: like `wg genkey | wg pubkey` (stdin → stdout, nothing else printed). */
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.js';
import { examples } from '../context.js';

export function register(program: Command): void {
  examples(
    program
      .command('keygen')
      .description('print a new Curve25519 private key (base64) on stdout')
      .action(async () => {
        const { keygenCommand } = await import('../../src/identity/keys.js');
        process.stdout.write(keygenCommand());
      }),
    ['relay-cli keygen > device.key', 'relay-cli keygen | tee device.key | relay-cli pubkey'],
  );

  examples(
    program
      .command('pubkey')
      .description('read a private key on stdin, print its public key on stdout')
      .action(async () => {
        if (process.stdin.isTTY) throw new CliError('ERR_USAGE', 'pubkey reads the private key from stdin: relay-cli pubkey < device.key', EXIT.USAGE);
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        const { pubkeyCommand } = await import('../../src/identity/keys.js');
        process.stdout.write(pubkeyCommand(Buffer.concat(chunks).toString('utf8')));
      }),
    ['relay-cli pubkey < device.key', 'relay-cli keygen | relay-cli pubkey'],
  );
}

/**
 * DNS through the tunnel: while connected, the system resolver configuration points at the
 * configured servers (reached through the tunnel's routes, so queries never leave outside
 * it), and the previous file is restored on disconnect. The previous content is kept next
 * to the file (`.masque-backup`) so that a crashed daemon can still restore it on start.
 *
 * On systemd-resolved systems /etc/resolv.conf is a symlink to a stub; we replace the link's
 * target content only through this file path, which an operator can change (`resolvConfPath`).
 */
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';

export interface DnsOptions {
  servers: readonly string[];
  /** Default /etc/resolv.conf. */
  resolvConfPath?: string;
}

export interface AppliedDns {
  restore(): Promise<void>;
}

const BACKUP = '.masque-backup';

/** Writes the resolver configuration; resolves to an undo handle. No servers: no change. */
export async function applyDns(o: DnsOptions): Promise<AppliedDns> {
  const path = o.resolvConfPath ?? '/etc/resolv.conf';
  if (o.servers.length === 0) return { restore: async () => undefined };
  await restoreStaleDns(path);
  const before = await readFile(path, 'utf8').catch(() => null);
  if (before !== null) await writeFile(path + BACKUP, before, { mode: 0o644 });
  const body = ['# written by masque-relay while the tunnel is up; restored on disconnect', ...o.servers.map((s) => `nameserver ${s}`), 'options edns0', ''].join('\n');
  await writeFile(path + '.masque-tmp', body, { mode: 0o644 });
  await rename(path + '.masque-tmp', path).catch(async () => {
    // rename fails across a bind mount (ip netns exec mounts resolv.conf): write in place.
    await writeFile(path, body);
    await unlink(path + '.masque-tmp').catch(() => undefined);
  });
  let isDone = false;
  return {
    async restore() {
      if (isDone) return;
      isDone = true;
      await restoreStaleDns(path);
    },
  };
}

/** Restores a backup left by an earlier run (crash recovery); no-op without one. */
export async function restoreStaleDns(path = '/etc/resolv.conf'): Promise<void> {
  const backup = await readFile(path + BACKUP, 'utf8').catch(() => null);
  if (backup === null) return;
  await writeFile(path, backup);
  await unlink(path + BACKUP).catch(() => undefined);
}

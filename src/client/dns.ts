/**
 * DNS through the tunnel: while connected, the system resolver configuration points at the
 * configured servers (reached through the tunnel's routes, so queries never leave outside
 * it), and the previous file is restored on disconnect. The previous content is kept next
 * to the file (`.masque-backup`) so that a crashed daemon can still restore it on start.
 *
 * On systemd-resolved (or NetworkManager) systems /etc/resolv.conf is a symlink into /run.
 * While connected the link is replaced by our own file, never written through: the file it
 * points at belongs to that service. The link itself is kept (`.masque-backup-link` holds its
 * target) and put back on restore, so the service manages the file again after disconnect.
 */
import { lstat, readFile, readlink, rename, symlink, writeFile, unlink } from 'node:fs/promises';

export interface DnsOptions {
  servers: readonly string[];
  /** Default /etc/resolv.conf. */
  resolvConfPath?: string;
}

export interface AppliedDns {
  /**
   * The symlink target the file had (null: a plain file, or no servers configured). A target
   * under /run/systemd/resolve means systemd-resolved: programs that ask it directly
   * (nss-resolve, D-Bus) keep using its servers, which the caller should say.
   */
  readonly replacedLink: string | null;
  restore(): Promise<void>;
}

const BACKUP = '.masque-backup';
const BACKUP_LINK = '.masque-backup-link';

/** Writes the resolver configuration; resolves to an undo handle. No servers: no change. */
export async function applyDns(o: DnsOptions): Promise<AppliedDns> {
  const path = o.resolvConfPath ?? '/etc/resolv.conf';
  if (o.servers.length === 0) return { replacedLink: null, restore: async () => undefined };
  await restoreStaleDns(path);
  const before = await readFile(path, 'utf8').catch(() => null);
  const link = await lstat(path).then((st) => (st.isSymbolicLink() ? readlink(path) : null), () => null);
  // The link target first: a backup without it would restore a copy in place of the link.
  if (link !== null) await writeFile(path + BACKUP_LINK, link, { mode: 0o644 });
  if (before !== null) await writeFile(path + BACKUP, before, { mode: 0o644 });
  const body = ['# written by masque-relay while the tunnel is up; restored on disconnect', ...o.servers.map((s) => `nameserver ${s}`), 'options edns0', ''].join('\n');
  await unlink(path + '.masque-tmp').catch(() => undefined); // never write through a stale link
  await writeFile(path + '.masque-tmp', body, { mode: 0o644 });
  await rename(path + '.masque-tmp', path).catch(async () => {
    // rename fails across a bind mount (ip netns exec mounts resolv.conf): write in place.
    await writeFile(path, body);
    await unlink(path + '.masque-tmp').catch(() => undefined);
  });
  let isDone = false;
  return {
    replacedLink: link,
    async restore() {
      if (isDone) return;
      isDone = true;
      await restoreStaleDns(path);
    },
  };
}

/** Restores a backup left by an earlier run (crash recovery); no-op without one. */
export async function restoreStaleDns(path = '/etc/resolv.conf'): Promise<void> {
  const link = await readFile(path + BACKUP_LINK, 'utf8').catch(() => null);
  if (link !== null) {
    // Atomic, like the replacement: a new link beside the file, renamed over it.
    await unlink(path + '.masque-tmp').catch(() => undefined);
    await symlink(link, path + '.masque-tmp');
    await rename(path + '.masque-tmp', path);
    await unlink(path + BACKUP).catch(() => undefined);
    await unlink(path + BACKUP_LINK).catch(() => undefined);
    return;
  }
  const backup = await readFile(path + BACKUP, 'utf8').catch(() => null);
  if (backup === null) return;
  await writeFile(path, backup);
  await unlink(path + BACKUP).catch(() => undefined);
}

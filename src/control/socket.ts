/**
 * Unix-socket housekeeping for the control server and client: stale-socket handling, mode and
 * group ownership, and the client's ownership check (Mullvad's verifyOwnership).
 *
 * Node has no SO_PEERCRED, so the socket file's permissions are the whole access control:
 * mode 0660 and group `masque` means "root and members of masque may talk to the daemon".
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ControlError, CONTROL_CODES } from './errors.js';

/**
 * Look up a group id by name in /etc/group (Node has no getgrnam). Returns null when the
 * group does not exist or the file is unreadable; never throws.
 */
export async function lookupGroupId(name: string, groupFile = '/etc/group'): Promise<number | null> {
  let text: string;
  try {
    text = await fs.readFile(groupFile, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [gname, , gid] = line.split(':');
    if (gname === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}

/** Resolve to true when something accepts a connection on the socket path. */
function isListening(socketPath: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(true)); // a slow but live daemon still owns the socket
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Make `socketPath` free to bind: create the parent directory (0755) if missing; remove a
 * stale socket left by a crashed daemon. Throws ControlError SOCKET_IN_USE when a daemon
 * answers there, NOT_A_SOCKET when the path is some other file (we never delete those).
 */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = await fs.lstat(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) {
    throw new ControlError(CONTROL_CODES.NOT_A_SOCKET, `control: ${socketPath} exists and is not a socket; refusing to replace it`);
  }
  if (await isListening(socketPath)) {
    throw new ControlError(CONTROL_CODES.SOCKET_IN_USE, `control: a daemon is already listening on ${socketPath}`);
  }
  await fs.unlink(socketPath);
}

/**
 * Set the socket's mode and, when `group` exists on this system, its group (owner stays us).
 * Returns the gid applied, or null when the group was not found (then only the owner and
 * root can use a 0660 socket, which is the safe fallback).
 */
export async function secureSocket(socketPath: string, mode: number, group: string | null): Promise<number | null> {
  let gid: number | null = null;
  if (group !== null) {
    gid = /^\d+$/.test(group) ? Number(group) : await lookupGroupId(group);
    if (gid !== null) await fs.chown(socketPath, process.getuid?.() ?? -1, gid);
  }
  await fs.chmod(socketPath, mode);
  return gid;
}

/**
 * The client's check before it talks to a socket: it must be a socket owned by root or by
 * the current user. Another user's socket could be an impostor daemon collecting our
 * requests, so we refuse it with ControlError SOCKET_OWNER. A missing socket maps to
 * DAEMON_UNREACHABLE.
 */
export async function verifyOwnership(socketPath: string): Promise<void> {
  let st;
  try {
    st = await fs.stat(socketPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ControlError(CONTROL_CODES.DAEMON_UNREACHABLE, `cannot reach the daemon: no socket at ${socketPath} (is \`relay-cli daemon\` running?)`, { cause: e });
    }
    if (code === 'EACCES') {
      throw new ControlError(CONTROL_CODES.PERMISSION_DENIED, `permission denied on ${socketPath} (are you in group masque?)`, { cause: e });
    }
    throw e;
  }
  if (!st.isSocket()) {
    throw new ControlError(CONTROL_CODES.NOT_A_SOCKET, `${socketPath} is not a socket`);
  }
  const me = process.getuid?.();
  if (st.uid !== 0 && st.uid !== me) {
    throw new ControlError(CONTROL_CODES.SOCKET_OWNER, `refusing ${socketPath}: owned by uid ${st.uid}, expected root or uid ${me}`);
  }
}

/** Remove the socket file if it is still there; ignores ENOENT. */
export async function removeSocket(socketPath: string): Promise<void> {
  await fs.rm(socketPath, { force: true });
}

/**
 * What the tray shows for a (daemon, tunnel) pair: one of four icons, a tooltip and a status
 * line for the menu. Pure functions; the icon is drawn here as raw pixels so the app ships no
 * image files and the look is unit-testable.
 */
import type { DaemonStatus, TunnelState } from '../shared/ipc-schema.js';

/** The four tray looks the issue asks for. */
export type TrayIconKind = 'disconnected' | 'connecting' | 'connected' | 'error';

export interface TrayView {
  icon: TrayIconKind;
  /** Short text for the tooltip and the menu's first (disabled) line. */
  status: string;
  tooltip: string;
  /** Whether the connect/disconnect item can act at all (no daemon → no). */
  canToggle: boolean;
  /** True when the toggle item should read "Disconnect". */
  isActive: boolean;
}

const STAGE_TEXT: Record<string, string> = {
  resolving: 'resolving relays',
  'connecting-ingress': 'reaching the first relay',
  'connecting-egress': 'reaching egress',
  'assigning-address': 'getting an address',
};

/** Human text for a connect stage; unknown stages (newer daemon) pass through. */
export function stageText(stage: string): string {
  return STAGE_TEXT[stage] ?? stage;
}

/** The tray's view of the world. A daemon problem wins over whatever the tunnel last said. */
export function trayView(daemon: DaemonStatus, tunnel: TunnelState): TrayView {
  const view = (icon: TrayIconKind, status: string, canToggle: boolean, isActive: boolean): TrayView => ({
    icon,
    status,
    tooltip: `masque VPN — ${status}`,
    canToggle,
    isActive,
  });
  if (daemon.state === 'starting') return view('disconnected', 'Looking for the daemon…', false, false);
  if (daemon.state !== 'ok') {
    const what = { absent: 'Daemon not running', denied: 'No permission for the daemon', untrusted: 'Daemon socket not trusted', failed: 'Lost the daemon' }[daemon.state];
    return view('error', what, false, false);
  }
  switch (tunnel.state) {
    case 'disconnected':
      return view('disconnected', 'Disconnected', true, false);
    case 'connecting':
      return view('connecting', `Connecting: ${stageText(tunnel.stage)}${tunnel.blocked ? ', traffic blocked' : ''}`, true, true);
    case 'reconnecting':
      return view('connecting', `Reconnecting (attempt ${tunnel.attempt}): ${stageText(tunnel.stage)}${tunnel.blocked ? ', traffic blocked' : ''}`, true, true);
    case 'connected': {
      const names = tunnel.chain.map((h) => h.name ?? h.address).join(' → ');
      return view('connected', `Connected via ${names}`, true, true);
    }
    case 'error':
      return view('error', `Error: ${tunnel.message} (${tunnel.code})`, true, false);
    default:
      return view('error', 'Unknown state', true, false);
  }
}

/** Fill colour per look, [r, g, b]: grey, amber, green, red (the window uses the same). */
export const TRAY_COLORS: Record<TrayIconKind, [number, number, number]> = {
  disconnected: [0x8a, 0x8f, 0x98],
  connecting: [0xf0, 0xa2, 0x02],
  connected: [0x2e, 0xb8, 0x5c],
  error: [0xe0, 0x3e, 0x3e],
};

/**
 * A `size`×`size` BGRA bitmap (Electron's nativeImage.createFromBitmap order) of a filled
 * ring-and-dot shield in the kind's colour, with anti-aliased edges. `connecting` leaves the
 * centre hollow so the states differ by shape too, not only by colour (colour-blind users).
 */
export function trayIconBitmap(kind: TrayIconKind, size = 22): Buffer {
  const [r, g, b] = TRAY_COLORS[kind];
  const buf = Buffer.alloc(size * size * 4);
  const c = (size - 1) / 2;
  const outer = size / 2 - 1;
  const inner = kind === 'connecting' ? outer * 0.55 : -1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      // Coverage of a one-pixel-wide edge band: 1 inside, 0 outside, linear between.
      const alphaOuter = Math.min(1, Math.max(0, outer - d + 0.5));
      const alphaInner = inner < 0 ? 0 : Math.min(1, Math.max(0, inner - d + 0.5));
      let a = alphaOuter * (1 - alphaInner);
      if (kind === 'error' && Math.abs(x - c) < size * 0.08 && Math.abs(y - c) < outer * 0.55) a = 0; // a bar: "!"-like cut
      const i = (y * size + x) * 4;
      buf[i] = b;
      buf[i + 1] = g;
      buf[i + 2] = r;
      buf[i + 3] = Math.round(a * 255);
    }
  }
  return buf;
}

/**
 * Keeps the tray in step with the daemon link: icon, tooltip and menu are rebuilt from
 * trayView()/buildTrayMenu() whenever the daemon, tunnel, settings or relays change (not on
 * stats ticks, which would rebuild the menu every second for nothing). Also forwards each
 * link event to the renderer as the matching notify channel.
 *
 * Takes the Electron pieces through the facade, so tests drive it with a stand-in.
 */
import type { ElectronFacade, MenuItemOptions, TrayLike } from './electron-facade.js';
import type { DaemonLink, LinkEvent } from './daemon-link.js';
import { buildTrayMenu, type MenuActions } from './menu.js';
import { trayIconBitmap, trayView, type TrayIconKind, type TrayView } from './tray-state.js';
import type { NotifyChannel, PayloadOf } from '../shared/ipc-schema.js';

/** Sends a notify channel to the window if there is one (no-op otherwise). */
export type NotifyRenderer = <C extends NotifyChannel>(channel: C, payload: PayloadOf<C>) => void;

export interface TrayControllerOptions {
  electron: Pick<ElectronFacade, 'Tray' | 'Menu' | 'nativeImage'>;
  link: DaemonLink;
  notify: NotifyRenderer;
  openWindow(): void;
  quit(): void;
  /** Called with failures of menu actions (the window shows them when open). */
  onActionError?(e: unknown): void;
  /** Icon edge in pixels; 22 matches GNOME/KDE panels. */
  iconSize?: number;
}

/** Map a link event to its notify channel and payload. */
export function notifyFor(ev: LinkEvent, notify: NotifyRenderer): void {
  switch (ev.type) {
    case 'daemon':
      return notify('notify:daemon', ev.daemon);
    case 'tunnel':
      return notify('notify:tunnel', ev.tunnel);
    case 'stats':
      return notify('notify:stats', ev.sample);
    case 'log':
      return notify('notify:log', ev.entry);
    case 'settings':
      return notify('notify:settings', ev.settings);
    case 'relays':
      return notify('notify:relays', ev.relays);
  }
}

/** Owns the Tray object. `dispose()` unsubscribes and destroys it. */
export class TrayController {
  readonly tray: TrayLike;
  private readonly opts: TrayControllerOptions;
  private readonly unsubscribe: () => void;
  private lastIcon: TrayIconKind | null = null;
  /** The template last handed to Menu.buildFromTemplate; tests click its items. */
  menuTemplate: MenuItemOptions[] = [];
  view: TrayView;

  constructor(opts: TrayControllerOptions) {
    this.opts = opts;
    const s = opts.link.snapshot();
    this.view = trayView(s.daemon, s.tunnel);
    this.tray = new opts.electron.Tray(this.icon(this.view.icon));
    this.lastIcon = this.view.icon;
    this.tray.on('click', () => opts.openWindow());
    this.refresh();
    this.unsubscribe = opts.link.onEvent((ev) => {
      notifyFor(ev, opts.notify);
      if (ev.type !== 'stats' && ev.type !== 'log') this.refresh();
    });
  }

  /** Menu actions; failures go to onActionError instead of becoming unhandled rejections. */
  get actions(): MenuActions {
    const { link } = this.opts;
    const guard = (p: Promise<unknown>): void => {
      p.catch((e) => this.opts.onActionError?.(e));
    };
    return {
      connect: () => guard(link.connect()),
      disconnect: () => guard(link.disconnect()),
      chooseChain: (choice) => guard(link.patchConfig({ ...choice })),
      openWindow: () => this.opts.openWindow(),
      quit: () => this.opts.quit(),
    };
  }

  /** Recompute the view; set the image only when the look changed (avoids panel flicker). */
  refresh(): void {
    const s = this.opts.link.snapshot();
    this.view = trayView(s.daemon, s.tunnel);
    if (this.view.icon !== this.lastIcon) {
      this.tray.setImage(this.icon(this.view.icon));
      this.lastIcon = this.view.icon;
    }
    this.tray.setToolTip(this.view.tooltip);
    this.menuTemplate = buildTrayMenu({ view: this.view, relays: s.relays, settings: s.settings }, this.actions);
    this.tray.setContextMenu(this.opts.electron.Menu.buildFromTemplate(this.menuTemplate));
  }

  dispose(): void {
    this.unsubscribe();
    this.tray.destroy();
  }

  private icon(kind: TrayIconKind) {
    const size = this.opts.iconSize ?? 22;
    return this.opts.electron.nativeImage.createFromBitmap(trayIconBitmap(kind, size), { width: size, height: size });
  }
}

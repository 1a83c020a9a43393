/**
 * The tray's context menu as a plain template (Menu.buildFromTemplate input). Pure: the
 * caller passes the current view and the actions; tests click items by id.
 */
import type { MenuItemOptions } from './electron-facade.js';
import type { RelayInfo, Settings } from '../shared/ipc-schema.js';
import type { TrayView } from './tray-state.js';

/** What the menu items do. Each returns nothing: failures surface through the link's events. */
export interface MenuActions {
  connect(): void;
  disconnect(): void;
  chooseChain(choice: { ingress?: string; egress?: string }): void;
  openWindow(): void;
  quit(): void;
}

export interface MenuModel {
  view: TrayView;
  relays: RelayInfo[];
  settings: Settings | null;
}

/** Relays usable in a role: `both` fits either hop. */
export function relaysFor(relays: RelayInfo[], role: 'ingress' | 'egress'): RelayInfo[] {
  return relays.filter((r) => r.role === role || r.role === 'both');
}

function latencyText(r: RelayInfo): string {
  return r.latencyMs === null ? ' (unreachable)' : ` (${Math.round(r.latencyMs)} ms)`;
}

/** The chain submenu: one radio group per hop. Disabled when there is nothing to choose. */
function chainSubmenu(m: MenuModel, actions: MenuActions): MenuItemOptions {
  const hop = (role: 'ingress' | 'egress'): MenuItemOptions[] => {
    const current = role === 'ingress' ? m.settings?.ingress : m.settings?.egress;
    const list = relaysFor(m.relays, role);
    if (list.length === 0) return [{ id: `chain-${role}-none`, label: `No ${role} relays`, enabled: false }];
    return list.map((r) => ({
      id: `chain-${role}-${r.name}`,
      label: r.name + latencyText(r),
      type: 'radio' as const,
      checked: r.name === current,
      click: () => actions.chooseChain({ [role]: r.name }),
    }));
  };
  const isTwoHop = m.settings?.chain !== 'single-hop';
  return {
    id: 'chain',
    label: 'Chain',
    type: 'submenu',
    enabled: m.view.canToggle && m.settings !== null && isTwoHop,
    submenu: [{ label: 'Ingress', enabled: false }, ...hop('ingress'), { type: 'separator' }, { label: 'Egress', enabled: false }, ...hop('egress')],
  };
}

/**
 * Build the menu: status line, connect/disconnect, chain, open window, quit. When the daemon
 * is unreachable the toggle is disabled and "How to start the daemon…" opens the window,
 * which shows the instructions.
 */
export function buildTrayMenu(m: MenuModel, actions: MenuActions): MenuItemOptions[] {
  const items: MenuItemOptions[] = [{ id: 'status', label: m.view.status, enabled: false }, { type: 'separator' }];
  if (m.view.isActive) items.push({ id: 'toggle', label: 'Disconnect', enabled: m.view.canToggle, click: actions.disconnect });
  else items.push({ id: 'toggle', label: 'Connect', enabled: m.view.canToggle, click: actions.connect });
  items.push(chainSubmenu(m, actions));
  if (!m.view.canToggle && m.view.icon === 'error') items.push({ id: 'help', label: 'How to start the daemon…', click: actions.openWindow });
  items.push({ type: 'separator' }, { id: 'open', label: 'Open masque', click: actions.openWindow }, { id: 'quit', label: 'Quit', click: actions.quit });
  return items;
}

/** Find an item by id anywhere in a template (tests, and the controller's own lookups). */
export function findMenuItem(items: MenuItemOptions[], id: string): MenuItemOptions | undefined {
  for (const it of items) {
    if (it.id === id) return it;
    const sub = it.submenu ? findMenuItem(it.submenu, id) : undefined;
    if (sub) return sub;
  }
  return undefined;
}

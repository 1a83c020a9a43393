/**
 * The settings form: kill switch, start at login, DNS, split-tunnel lists. It fills itself
 * from Settings and sends only what changed; main validates again (the form is a
 * convenience, not the gate) and its error message is shown as is.
 */
import type { MasqueBridge, Settings, SettingsPatch } from '../shared/ipc-schema.js';
import { parseList } from './format.js';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e as T;
}

const sameList = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Compute the patch between what the daemon has and what the form says. */
export function diffSettings(current: Settings, form: Omit<Settings, 'chain' | 'ingress' | 'egress'>): SettingsPatch {
  const patch: SettingsPatch = {};
  if (form.killSwitch !== current.killSwitch) patch.killSwitch = form.killSwitch;
  if (form.startAtLogin !== current.startAtLogin) patch.startAtLogin = form.startAtLogin;
  if (!sameList(form.dns, current.dns)) patch.dns = form.dns;
  const r = form.routing;
  if (r.mode !== current.routing.mode || !sameList(r.include, current.routing.include) || !sameList(r.exclude, current.routing.exclude)) patch.routing = r;
  return patch;
}

export class SettingsView {
  private current: Settings | null = null;
  /** True while the user has unsaved edits: incoming updates must not overwrite them. */
  private isDirty = false;
  private readonly form = el<HTMLFormElement>('settings-form');
  private readonly message = el<HTMLElement>('settings-message');

  constructor(private readonly bridge: MasqueBridge, private readonly onSaved: (s: Settings) => void) {
    this.form.addEventListener('input', () => {
      this.isDirty = true;
      this.syncIncludeField();
    });
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.save();
    });
  }

  /** Show settings from main; ignored while the user is editing. */
  update(s: Settings | null): void {
    this.current = s;
    this.form.querySelectorAll('input, select, textarea, button').forEach((n) => ((n as HTMLInputElement).disabled = s === null));
    if (!s || this.isDirty) return;
    el<HTMLInputElement>('kill-switch').checked = s.killSwitch;
    el<HTMLInputElement>('start-at-login').checked = s.startAtLogin;
    el<HTMLInputElement>('dns').value = s.dns.join(', ');
    el<HTMLSelectElement>('routing-mode').value = s.routing.mode;
    el<HTMLTextAreaElement>('include').value = s.routing.include.join('\n');
    el<HTMLTextAreaElement>('exclude').value = s.routing.exclude.join('\n');
    this.syncIncludeField();
  }

  private syncIncludeField(): void {
    el<HTMLElement>('include-field').hidden = el<HTMLSelectElement>('routing-mode').value !== 'split';
  }

  private readForm(): Omit<Settings, 'chain' | 'ingress' | 'egress'> {
    const mode = el<HTMLSelectElement>('routing-mode').value === 'split' ? 'split' : 'full';
    return {
      killSwitch: el<HTMLInputElement>('kill-switch').checked,
      startAtLogin: el<HTMLInputElement>('start-at-login').checked,
      dns: parseList(el<HTMLInputElement>('dns').value),
      routing: { mode, include: mode === 'split' ? parseList(el<HTMLTextAreaElement>('include').value) : [], exclude: parseList(el<HTMLTextAreaElement>('exclude').value) },
    };
  }

  private say(kind: 'ok' | 'error', text: string): void {
    this.message.dataset.kind = kind;
    this.message.textContent = text;
  }

  private async save(): Promise<void> {
    if (!this.current) return;
    const patch = diffSettings(this.current, this.readForm());
    if (Object.keys(patch).length === 0) {
      this.isDirty = false;
      return this.say('ok', 'Nothing to save');
    }
    const r = await this.bridge.invoke('settings:set', patch);
    if (r.type === 'error') return this.say('error', r.message);
    this.isDirty = false;
    this.update(r.value);
    this.onSaved(r.value);
    this.say('ok', 'Saved — applies on the next connect');
  }
}

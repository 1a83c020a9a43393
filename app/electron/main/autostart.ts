/**
 * "Start at login" on Linux. Electron's app.setLoginItemSettings only works on macOS and
 * Windows, so on Linux we write an XDG autostart entry (freedesktop "Desktop Application
 * Autostart Specification": $XDG_CONFIG_HOME/autostart/NAME.desktop). This is the app's own
 * setting: the daemon never sees it, and nothing here needs privileges.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** File name of our autostart entry. */
export const AUTOSTART_FILE = 'masque-relay.desktop';

export interface Autostart {
  /** Whether the entry exists; synchronous because the settings view asks often and it is one stat. */
  isEnabled(): boolean;
  /** Create or remove the entry. Throws on I/O errors (the IPC layer turns them into {type:'error'}). */
  setEnabled(isOn: boolean): void;
  readonly file: string;
}

/**
 * Quote one argument for a desktop entry's Exec key (spec "The Exec key"): arguments with
 * reserved characters go in double quotes, with `"`, `` ` ``, `$` and `\` backslash-escaped.
 */
export function quoteExecArg(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return '"' + arg.replace(/(["`$\\])/g, '\\$1') + '"';
}

/** The .desktop file text that starts `argv` hidden in the tray. */
export function autostartEntry(argv: string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=masque VPN',
    'Comment=masque-relay tray app',
    `Exec=${argv.map(quoteExecArg).join(' ')} --hidden`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** The autostart directory: $XDG_CONFIG_HOME/autostart, else ~/.config/autostart. */
export function defaultAutostartDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  return path.join(base, 'autostart');
}

/** An Autostart writing `<dir>/masque-relay.desktop` that runs `argv`. */
export function createAutostart(dir: string, argv: string[]): Autostart {
  const file = path.join(dir, AUTOSTART_FILE);
  return {
    file,
    isEnabled: () => existsSync(file),
    setEnabled(isOn: boolean): void {
      if (!isOn) {
        rmSync(file, { force: true });
        return;
      }
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(file, autostartEntry(argv), { mode: 0o644 });
    },
  };
}

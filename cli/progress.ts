/**
 * Waiting for a connect attempt to finish, shared by `connect` (through the daemon) and
 * `connect --foreground` (in-process engine): consumes TunnelStates in order, shows each stage
 * on a TTY, and resolves at `connected` or rejects at `error` / timeout / Ctrl-C.
 */
import { CONNECT_STAGES, isBusy, type ConnectStage, type TunnelState } from '../src/control/schema.js';
import { CliError, EXIT } from './exit-codes.js';
import type { Output } from './output.js';

const STAGE_TEXT: Record<ConnectStage, string> = {
  resolving: 'resolving relay addresses',
  'connecting-ingress': 'connecting to the first relay', // the ingress, or the only relay of a single hop
  'connecting-egress': 'connecting to egress',
  'assigning-address': 'assigning address',
};

/** Human text of a state, e.g. "connecting: connecting to egress (3/4)". */
export function describeState(s: TunnelState): string {
  switch (s.state) {
    case 'connecting':
      return `connecting: ${STAGE_TEXT[s.stage]} (${CONNECT_STAGES.indexOf(s.stage) + 1}/${CONNECT_STAGES.length})${s.blocked ? '; traffic blocked' : ''}`;
    case 'reconnecting':
      // `blocked`: the engine holds traffic outside the tunnel meanwhile (docs/client.md, Kill switch).
      return `reconnecting (attempt ${s.attempt}): ${STAGE_TEXT[s.stage]}${s.blocked ? '; traffic blocked until connected' : ''}`;
    case 'error':
      return `error ${s.code}: ${s.message}`;
    case 'connected':
      return `connected via ${s.chain.map((h) => h.name ?? h.address).join(' → ')}`;
    default:
      return s.state;
  }
}

/**
 * Follow `states` (which may start with stale states from before the attempt: they are
 * skipped until the first busy one) until the attempt ends. `initial` is the state the
 * connect call returned. Rejects with CliError exit 5 on error or timeout.
 */
export async function waitForConnected(
  states: AsyncIterable<TunnelState>,
  initial: TunnelState,
  out: Output,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<TunnelState> {
  if (initial.state === 'connected') return initial;
  if (initial.state === 'error') throw connectFailed(initial);
  // Even when `initial` is busy, the stream may first replay older states (its snapshot was
  // taken before the connect call): only a busy state seen on the stream starts the attempt.
  let hasStarted = false;
  let timeout: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timer = new Promise<never>((_, reject) => {
    timeout = setTimeout(() => reject(new CliError('ERR_CONNECT_TIMEOUT', `not connected after ${timeoutMs / 1000} s`, EXIT.CONNECT_FAILED)), timeoutMs);
    onAbort = () => reject(new CliError('ERR_INTERRUPTED', 'interrupted', EXIT.INTERRUPTED));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const follow = (async () => {
    for await (const s of states) {
      if (isBusy(s)) {
        hasStarted = true;
        out.progress(describeState(s) + '…');
        continue;
      }
      if (!hasStarted) continue;
      if (s.state === 'connected') return s;
      if (s.state === 'error') throw connectFailed(s);
      throw new CliError('ERR_CONNECT_ABORTED', 'the attempt was cancelled (disconnected)', EXIT.CONNECT_FAILED);
    }
    throw new CliError('ERR_CONTROL_DAEMON_UNREACHABLE', 'the daemon closed the event stream', EXIT.DAEMON_UNREACHABLE);
  })();
  // Whichever loses the race must not surface later as an unhandled rejection.
  follow.catch(() => {});
  timer.catch(() => {});
  try {
    return await Promise.race([follow, timer]);
  } finally {
    clearTimeout(timeout);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    out.clearProgress();
  }
}

function connectFailed(s: Extract<TunnelState, { state: 'error' }>): CliError {
  return new CliError(s.code, `connect failed: ${s.message}`, EXIT.CONNECT_FAILED);
}

/**
 * An async queue over a push subscription (the in-process engine's `subscribe`), so both
 * modes feed `waitForConnected` the same way. `close()` ends iteration.
 */
export class StateQueue implements AsyncIterable<TunnelState> {
  private readonly items: TunnelState[] = [];
  private wake: (() => void) | null = null;
  private isClosed = false;

  push(s: TunnelState): void {
    this.items.push(s);
    this.wake?.();
  }

  close(): void {
    this.isClosed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TunnelState> {
    for (;;) {
      const next = this.items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.isClosed) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

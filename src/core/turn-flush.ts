/**
 * The safety net of a batch its owner flushes explicitly, once per event-loop turn (the UDP
 * send batch, the TUN writer): the first item queued in a turn schedules a flush for the end
 * of the turn in case nobody flushes, and the owner's own flush cancels it. Cancelling
 * matters: a pending immediate makes the loop's next poll non-blocking, so an idle process
 * paid one more loop iteration (an epoll_pwait that cannot block) after every packet.
 */
export class TurnFlush {
  private pending: NodeJS.Immediate | null = null;

  constructor(private readonly flush: () => void) {}

  /** Schedules the safety flush unless one is pending. */
  arm(): void {
    this.pending ??= setImmediate(this.run);
  }

  /** Drops the pending safety flush: the owner flushed. */
  cancel(): void {
    if (this.pending === null) return;
    clearImmediate(this.pending);
    this.pending = null;
  }

  private readonly run = (): void => {
    this.pending = null;
    this.flush();
  };
}

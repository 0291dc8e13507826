// The index writes segments and merges them on the main thread, beside ingest and IMAP sessions.
// Such work checks its slice as it goes and gives the event loop a turn once a few milliseconds
// have passed, so that the pipeline keeps its worker fed and sessions are answered meanwhile: the
// index work fills the time they leave. A yield every fixed count of items held the event loop
// for up to tens of milliseconds, long enough to starve the prepare worker (bench/README.md).
import { setImmediate as nextTurn } from 'node:timers/promises';

const SLICE_MS = 4;

export class TimeSlice {
  private started = performance.now();

  /** Whether this slice is used up. Cheap enough to ask every item. */
  due(): boolean {
    return performance.now() - this.started >= SLICE_MS;
  }

  /** Gives the event loop a turn and starts a new slice. */
  async yield(): Promise<void> {
    await nextTurn();
    this.started = performance.now();
  }
}

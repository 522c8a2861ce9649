/**
 * Runs `work` now or, when a run is under way, once more right after it:
 * requests that arrive during a run are folded into one more run, and every
 * caller gets the promise of the run that covers its request.
 */
export class CoalescedRun {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly work: () => Promise<void>,
    /** Checked before a repeat run (e.g. false once stopped). */
    private readonly mayRepeat: () => boolean = () => true,
  ) {}

  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.work();
        } while (this.again && this.mayRepeat());
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}

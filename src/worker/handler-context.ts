// What a handler gets besides its parameters: progress events and cancellation of its own request.
export interface HandlerContext {
  progress(done: number, total: number, label?: string, detail?: unknown): void;
  /** Throws CancelledError once the page has cancelled this request. */
  checkCancelled(): void;
  /** Aborted when the page cancels this request (for fetches and other abortable work). */
  signal: AbortSignal;
}

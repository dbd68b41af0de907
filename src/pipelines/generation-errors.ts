// What generation reports when it cannot go on. The CLI maps GenerationInputError to exit code 2.

/** A setting the user gave is out of range or inconsistent (width 100, steps 0, strength 1.5, NaN latents). */
export class GenerationInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerationInputError';
  }
}

/** NaN or infinity appeared in the latents or the image; `where` says at which stage. */
export class NonFiniteError extends Error {
  constructor(readonly where: string, precision: string) {
    super(
      `NaN or infinite values in ${where}` +
        (precision === 'f16' ? '; f16 weights can overflow here: run with --precision f32 (the f32 path)' : ''),
    );
    this.name = 'NonFiniteError';
  }
}

/** The run was stopped through its AbortSignal; every GPU tensor of the run has been freed. */
export class GenerationCancelledError extends Error {
  constructor(readonly step: number, readonly steps: number) {
    super(`generation cancelled after step ${step} of ${steps}`);
    this.name = 'AbortError';
  }
}

// Step-indexed access to a batch stream, for train()'s `data` callback.
import type { Rng } from '@geolip/geometry';

/**
 * Wraps an iterable of batches as `(step) => batch`: train() asks for steps in order, so one iterator serves them;
 * a step out of order (the first step after a resume) restarts the stream and skips to that step, so a resumed run
 * sees the same batches as a straight one.
 */
export function streamSteps<B>(stream: Iterable<B>): (step: number, rng: Rng) => B {
  let cursor: Iterator<B> | undefined;
  let cursorStep = -1;
  return (step: number): B => {
    if (cursor === undefined || step !== cursorStep + 1) {
      cursor = stream[Symbol.iterator]();
      for (let s = 0; s < step; s++) cursor.next();
    }
    cursorStep = step;
    return cursor.next().value as B;
  };
}

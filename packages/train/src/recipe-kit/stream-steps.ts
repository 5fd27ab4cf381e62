// Step-indexed access to a batch stream, for train()'s `data` callback.
import type { Rng } from '@geolip/geometry';

/** A batch stream that can start at a given step without producing the earlier batches (e.g. `ImageBatchStream`). */
export interface SeekableStream<B> extends Iterable<B> {
  /** The batches from step `step` on: what iterating yields after `step` batches. */
  from(step: number): Iterator<B>;
}

/**
 * Wraps an iterable of batches as `(step) => batch`: train() asks for steps in order, so one iterator serves them;
 * a step out of order (the first step after a resume) restarts the stream at that step, so a resumed run sees the
 * same batches as a straight one. A stream with `from(step)` starts there directly; any other iterable is replayed
 * from its start and the first `step` batches are skipped.
 */
export function streamSteps<B>(stream: Iterable<B> | SeekableStream<B>): (step: number, rng: Rng) => B {
  let cursor: Iterator<B> | undefined;
  let cursorStep = -1;
  return (step: number): B => {
    if (cursor === undefined || step !== cursorStep + 1) {
      if ('from' in stream && typeof stream.from === 'function') cursor = stream.from(step);
      else {
        cursor = stream[Symbol.iterator]();
        for (let s = 0; s < step; s++) cursor.next();
      }
    }
    cursorStep = step;
    return cursor.next().value as B;
  };
}

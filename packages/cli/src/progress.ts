// The one progress reporter of the CLIs (bench's embedding passes, the training loop): a bar redrawn in place on a
// terminal, otherwise a line at most every 10% so logs stay short.

/** Where progress goes: a stream with `write` (`isTTY` true for a terminal). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** What is counted, for the log lines (`'sentences'`). Default `'items'`. */
  unit?: string;
  /** Bar width in characters. Default 30. */
  width?: number;
  /** Redraw in place (`\r`) instead of logging lines. Default: `stream.isTTY === true`. */
  tty?: boolean;
}

/** A running progress report. `update` and `end` are plain functions (pass `bar.update` as a callback). */
export interface Progress {
  /**
   * Reports `done` of `total`. `text`, when given, is the whole line (e.g. the training loop's
   * `step 30/100 [###---] loss 0.1234 | …`); otherwise `label [####----]  40% 40/100` (terminal) or
   * `label: 40/100 unit (40%)` (log).
   */
  update: (done: number, total: number, text?: string) => void;
  /** Ends the line on a terminal. */
  end: () => void;
}

/**
 * `[###-------]`: `fraction` (clamped to [0, 1]) of `width` cells filled.
 *
 * @example
 * ```ts
 * formatBar(0.3, 10); // '[###-------]'
 * ```
 */
export function formatBar(fraction: number, width: number): string {
  const frac = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/**
 * `h:mm:ss` or `m:ss`; `?` for a negative or non-finite duration (an ETA not known yet).
 *
 * @example
 * ```ts
 * formatDuration(7); // '0:07'
 * formatDuration(3725); // '1:02:05'
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * A progress reporter on `stream` (usually stderr): on a terminal a bar redrawn in place, otherwise one line at each
 * new tenth of the total (0%, 10%, …, 100%).
 *
 * @param stream - where to write.
 * @param label - what is running (`'stsb dev'`).
 * @param options - unit, bar width, terminal mode.
 * @returns `{ update, end }`.
 * @example
 * ```ts
 * const bar = createProgress(process.stderr, 'embed', { unit: 'sentences' });
 * for (let i = 1; i <= 100; i++) bar.update(i, 100);
 * bar.end();
 * ```
 */
export function createProgress(stream: ProgressStream, label: string, options: ProgressOptions = {}): Progress {
  const tty = options.tty ?? stream.isTTY === true;
  const unit = options.unit ?? 'items';
  const width = options.width ?? 30;
  let lastDecile = -1;
  let drawn = false;
  return {
    update(done, total, text) {
      const frac = total > 0 ? done / total : 1;
      if (tty) {
        stream.write(
          `\r${text ?? `${label} ${formatBar(frac, width)} ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total}`}`,
        );
        drawn = true;
        return;
      }
      const decile = Math.floor(frac * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${text ?? `${label}: ${done}/${total} ${unit} (${(frac * 100).toFixed(0)}%)`}\n`);
      }
    },
    end() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}

// The training loop's progress line, drawn by @geolip/cli's progress reporter (the one the CLIs share).
import { formatBar, formatDuration } from '@geolip/cli';

export { formatDuration };

/** One line of the progress bar: `step 30/100 [######------] loss 0.1234 | 12.5 step/s | ETA 0:05`. */
export function formatProgress(step: number, total: number, loss: number, stepsPerSec: number, width = 20): string {
  const frac = total > 0 ? Math.min(1, step / total) : 1;
  const eta = stepsPerSec > 0 ? (total - step) / stepsPerSec : Infinity;
  return (
    `step ${step}/${total} ${formatBar(frac, width)} loss ${loss.toPrecision(4)} ` +
    `| ${stepsPerSec.toFixed(1)} step/s | ETA ${formatDuration(eta)}`
  );
}

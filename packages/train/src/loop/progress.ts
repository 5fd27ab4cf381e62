/** One line of the progress bar: `step 30/100 [######------] loss 0.1234 | 12.5 step/s | ETA 0:05`. */
export function formatProgress(step: number, total: number, loss: number, stepsPerSec: number, width = 20): string {
  const frac = total > 0 ? Math.min(1, step / total) : 1;
  const filled = Math.round(frac * width);
  const eta = stepsPerSec > 0 ? (total - step) / stepsPerSec : Infinity;
  return `step ${step}/${total} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] loss ${loss.toPrecision(4)} | ${stepsPerSec.toFixed(1)} step/s | ETA ${formatDuration(eta)}`;
}

/** `h:mm:ss` or `m:ss`; `?` for a non-finite duration. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

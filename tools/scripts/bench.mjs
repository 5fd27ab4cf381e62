// `npm run bench`, the root README's main job (issue 25): says what it does and about how long each step takes,
// builds @geolip/bench and the packages it needs with turbo showing only the logs of a task that fails (no wall of
// build output), then runs `geolip-bench run` with any arguments given after `--`.
//   npm run bench [-- <geolip-bench run flags>]      node tools/scripts/bench.mjs --dry-run (print the plan only)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const benchArgs = args.filter((a) => a !== '--dry-run');

/** The two steps, with the times measured on the 2-core dev machine (a first build; turbo caches later ones). */
export const STEPS = [
  {
    say: 'building @geolip/bench and the 9 packages it needs (3 to 5 min on 2 cores the first time, seconds once turbo has cached it)',
    command: 'npx',
    args: ['turbo', 'run', 'build', '--filter=@geolip/bench...', '--output-logs=errors-only', '--log-prefix=none'],
  },
  {
    say:
      'geolip-bench run: STS-B dev (1,500 sentence pairs, bundled) with the default model, ' +
      'about 30 s on 2 cores; a model-card table follows',
    command: process.execPath,
    args: [join('packages', 'bench', 'bin', 'geolip-bench.mjs'), 'run', ...benchArgs],
  },
];

for (const [i, step] of STEPS.entries()) {
  console.error(`[npm run bench] ${i + 1}/${STEPS.length} ${step.say}`);
  if (dryRun) {
    console.log([step.command, ...step.args].join(' '));
    continue;
  }
  const t0 = performance.now();
  const r = spawnSync(step.command, step.args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' },
  });
  if (r.status !== 0) {
    console.error(`[npm run bench] step ${i + 1} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  console.error(`[npm run bench] step ${i + 1} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

// geolip-bench: evaluate embedders on STS-B / SICK-R / MRPC / COCO and write reports. Built on @geolip/cli: one file
// per command (commands/), one file per task (tasks/). `main` runs in-process (tests call it directly);
// bin/geolip-bench.mjs calls it with process.argv.
import { EXIT, PROCESS_IO, runProgram, versionOf, type CliIo, type Program } from '@geolip/cli';
import { queueCommands } from '@geolip/queue';

import { dataCommand } from './commands/data.js';
import { embedCommand } from './commands/embed.js';
import { mergeCommand } from './commands/merge.js';
import { runCommand } from './commands/run.js';
import { scanCommand } from './commands/scan.js';

export type { CliIo } from '@geolip/cli';
export { builtinModelNames, embeddedDataDir } from './commands/shared.js';

declare const __GEOLIP_BENCH_VERSION__: string | undefined;

function moduleUrl(): string | undefined {
  try {
    return import.meta.url as string | undefined;
  } catch {
    return undefined; // CJS build: no import.meta (the version is defined at build time there)
  }
}

/** The `geolip-bench` program: its commands, help epilogue and build-time version. */
export const program: Program = {
  name: 'geolip-bench',
  summary: 'evaluate sentence embedders on STS-B, SICK-R and MRPC, image embedders on COCO',
  version: versionOf(typeof __GEOLIP_BENCH_VERSION__ === 'string' ? __GEOLIP_BENCH_VERSION__ : undefined, moduleUrl()),
  commands: [
    runCommand,
    mergeCommand,
    dataCommand,
    embedCommand,
    scanCommand,
    // Queue mode: `submit -- run … --out r.json`, `worker`, `status --wait --merge` (runs `merge --out r.json`).
    ...queueCommands({
      name: 'geolip-bench',
      run: (argv, io) => main(argv, io),
      mergeArgv: (argv) => {
        const i = argv.indexOf('--out');
        if (argv[0] !== 'run' || i < 0 || argv[i + 1] === undefined) return undefined;
        return ['merge', '--out', argv[i + 1]!, ...(argv.includes('--raw') ? ['--raw'] : [])];
      },
    }),
  ],
  epilogue:
    `Exit status: ${EXIT.ok} on success, ${EXIT.usage} on a usage error, ` +
    `${EXIT.error} on any other error (set GEOLIP_DEBUG=1 for a stack trace).`,
};

/**
 * Runs the CLI with `argv` (without the node and script paths). Returns the exit status: 0 on success, 2 on a usage
 * error, 1 on any other error (one line on stderr; the stack too when GEOLIP_DEBUG=1). Never throws.
 */
export async function main(argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runProgram(program, argv, io);
}

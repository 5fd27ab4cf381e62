// Starting the tfjs backend the way every CLI does: the one the user asked for, init logs only with GEOLIP_DEBUG=1
// or GEOLIP_LOG=debug,
// and a note when GEOLIP_BACKEND overrode the request.
import type { BackendName, InitBackendOptions } from '@geolip/geometry/backend';

import type { CliIo } from './command.js';

/**
 * Runs `init` (`initBackend` of `@geolip/nn/backend`, which also registers nn's kernels, or of
 * `@geolip/geometry/backend`) preferring `name`; its log (at the debug level) goes to stderr only when
 * `GEOLIP_DEBUG=1` or `GEOLIP_LOG=debug`. When the active
 * backend is not the one asked for (`GEOLIP_BACKEND` overrides `prefer`), a note on stderr says so rather than
 * silently running elsewhere.
 *
 * @param init - the backend initializer.
 * @param name - the `--backend` value (checked by `backendOption`), or undefined for the default choice.
 * @param io - the command's streams.
 * @returns the active backend's name.
 */
export async function startBackend(
  init: (options: InitBackendOptions) => Promise<{ name: string }>,
  name: BackendName | undefined,
  io: CliIo,
): Promise<string> {
  // GEOLIP_DEBUG=1 (the CLIs' older switch) or GEOLIP_LOG=debug: every line of initBackend, its reasons included.
  const debug =
    process.env.GEOLIP_DEBUG === '1' || /^(debug|verbose|1|true)$/i.test(process.env.GEOLIP_LOG?.trim() ?? '');
  const info = await init({
    ...(name !== undefined ? { prefer: [name] } : {}),
    debug,
    log: (m) => {
      if (debug) io.stderr.write(`${m}\n`);
    },
  });
  if (name !== undefined && info.name !== name) {
    io.stderr.write(
      `note: backend '${info.name}' is active ` +
        `(requested '${name}'; GEOLIP_BACKEND=${process.env.GEOLIP_BACKEND ?? ''})\n`,
    );
  }
  return info.name;
}

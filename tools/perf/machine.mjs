// The machine a perf result was measured on, for every result file (issue 19): CPU model, clock and the flags that
// matter to kernels; Node, tfjs and Dawn (the `webgpu` package) versions; the GPU adapter when there is one.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';

const KERNEL_FLAGS = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx512_bf16', 'amx_bf16'];

/** CPU flags of interest that /proc/cpuinfo lists (Linux), else null. */
function cpuFlags() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    const have = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
    return KERNEL_FLAGS.filter((f) => have.has(f));
  } catch {
    return null;
  }
}

/** The version field of an installed package, or null (a bundle may not carry it). */
function packageVersion(name) {
  try {
    const require = createRequire(import.meta.url);
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version ?? null;
  } catch {
    return null;
  }
}

/**
 * @param {{ tfVersion?: string, adapter?: string | null }} [extra] tfjs-core's version and the adapter description
 * @returns {object} a plain object for the result file
 */
export function machineInfo(extra = {}) {
  const cpus = os.cpus();
  return {
    cpu: `${cpus[0]?.model ?? '?'} × ${cpus.length}`,
    cpuMHz: cpus[0]?.speed ?? null,
    cpuFlags: cpuFlags(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    tfjs: extra.tfVersion ?? null,
    dawn: process.env.GEOLIP_DAWN_VERSION ?? packageVersion('webgpu'),
    adapter: extra.adapter ?? null,
    platform: `${os.platform()} ${os.release()}`,
  };
}

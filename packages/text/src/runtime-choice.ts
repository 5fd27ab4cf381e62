/**
 * Which runtime `loadGeolipText()` uses when the caller names none. A pure function of what it is told (the option,
 * `GEOLIP_RUNTIME`, whether onnxruntime-node is installed, the tfjs backend), so the rule is tested without
 * installing or removing anything.
 */
import { InvalidArgumentError } from '@geolip/geometry';

import type { TextRuntime } from './batched-encoder.js';

/** What {@link chooseTextRuntime} looks at. */
export interface TextRuntimeFacts {
  /** `options.runtime` as passed (undefined: not given). */
  option: unknown;
  /** The `GEOLIP_RUNTIME` environment variable (undefined or '' : unset; `auto` counts as unset). */
  env: string | undefined;
  /** Whether onnxruntime-node resolves from `@geolip/text` (asked only when needed). */
  ortInstalled: () => boolean;
  /**
   * The tfjs backend that is active, else the one `GEOLIP_BACKEND` names, else null (none chosen yet: wasm or cpu
   * would be, in Node).
   */
  tfjsBackend: string | null;
}

/** The choice and why, for the `[geolip]` line. */
export interface TextRuntimeChoice {
  runtime: TextRuntime;
  /** `option`: `options.runtime`; `env`: `GEOLIP_RUNTIME`; `auto`: the rule below. */
  source: 'option' | 'env' | 'auto';
  /** One clause saying why (for the log line). */
  reason: string;
}

/** tfjs backends that compute on the CPU, where onnxruntime-node's CPU provider was measured faster. */
const CPU_BACKENDS = new Set(['wasm', 'cpu']);

/**
 * The runtime rule of `loadGeolipText`: an explicit `options.runtime` wins; else `GEOLIP_RUNTIME` (`tfjs` or
 * `ort`); else `'ort'` when onnxruntime-node is installed and the work is on the CPU (no tfjs backend chosen yet, or
 * wasm / cpu): there it embeds 4.4× as many sentences per second as tfjs-wasm
 * (`results/perf/cpu/text-runtime.json`). Otherwise `'tfjs'` (e.g. a webgpu or webgl backend the caller chose,
 * which was not measured against onnxruntime).
 * @throws {InvalidArgumentError} naming `op` and `options.runtime` or `GEOLIP_RUNTIME` for any other value.
 */
export function chooseTextRuntime(op: string, facts: TextRuntimeFacts): TextRuntimeChoice {
  const { option } = facts;
  if (option !== undefined) {
    if (option !== 'tfjs' && option !== 'ort')
      throw new InvalidArgumentError(op, 'options.runtime', `must be 'tfjs' or 'ort', got ${describeRuntime(option)}`);
    return { runtime: option, source: 'option', reason: 'options.runtime' };
  }
  const env = facts.env?.trim().toLowerCase();
  if (env !== undefined && env !== '' && env !== 'auto') {
    if (env !== 'tfjs' && env !== 'ort')
      throw new InvalidArgumentError(op, 'GEOLIP_RUNTIME', `must be 'tfjs', 'ort' or 'auto', got '${facts.env}'`);
    return { runtime: env, source: 'env', reason: 'GEOLIP_RUNTIME' };
  }
  if (facts.tfjsBackend !== null && !CPU_BACKENDS.has(facts.tfjsBackend))
    return {
      runtime: 'tfjs',
      source: 'auto',
      reason: `the tfjs backend is ${facts.tfjsBackend} (onnxruntime is the default on CPU only)`,
    };
  if (!facts.ortInstalled()) return { runtime: 'tfjs', source: 'auto', reason: 'onnxruntime-node is not installed' };
  return { runtime: 'ort', source: 'auto', reason: 'onnxruntime-node is installed and the device is the CPU' };
}

function describeRuntime(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return value === null ? 'null' : typeof value;
}

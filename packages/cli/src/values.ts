// Checks of option values shared by the CLIs; each throws a UsageError naming the flag and the value.
import { UsageError } from '@geolip/geometry';
import { BACKEND_NAMES, parseBackendName, type BackendName } from '@geolip/geometry/backend';

import type { CommandContext, OptionSpec } from './command.js';
import { asUsage } from './program.js';

type Ctx = Pick<CommandContext, 'op'>;

/**
 * A positive integer option (`--batch-size 64`), or `fallback` when the option was not given.
 *
 * @throws {UsageError} `--flag must be a positive integer, got 'x'`.
 */
export function positiveInt(ctx: Ctx, flag: string, value: string | undefined): number | undefined;
export function positiveInt(ctx: Ctx, flag: string, value: string | undefined, fallback: number): number;
export function positiveInt(ctx: Ctx, flag: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(ctx.op, `${flag} must be a positive integer, got '${value}'`, { argument: flag });
  return Number(value);
}

/**
 * An integer option (`--seed -3`), or `fallback` when not given.
 *
 * @throws {UsageError} `--flag must be an integer, got 'x'`.
 */
export function integer(ctx: Ctx, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n))
    throw new UsageError(ctx.op, `${flag} must be an integer, got '${value}'`, { argument: flag });
  return n;
}

/**
 * A positive finite number option (`--time-limit 1.5`), or undefined when not given.
 *
 * @param what - the unit in the message (`'number of seconds'`).
 * @throws {UsageError} `--flag must be a positive <what>, got 'x'`.
 */
export function positiveNumber(ctx: Ctx, flag: string, value: string | undefined, what = 'number'): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(Number.isFinite(n) && n > 0))
    throw new UsageError(ctx.op, `${flag} must be a positive ${what}, got '${value}'`, { argument: flag });
  return n;
}

/**
 * One of a fixed set of words (`--split dev|test`), or `fallback` when not given.
 *
 * @param noun - what the values are, for the message (`'split'`).
 * @throws {UsageError} `unknown <noun> 'x'; valid <noun>s: a, b`.
 */
export function oneOf<T extends string>(
  ctx: Ctx,
  noun: string,
  value: string | undefined,
  valid: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(valid as readonly string[]).includes(value))
    throw new UsageError(ctx.op, `unknown ${noun} '${value}'; valid ${noun}s: ${valid.join(', ')}`);
  return value as T;
}

/**
 * The `--backend` option, checked by `@geolip/geometry/backend`'s `parseBackendName` (the one check of a backend name).
 *
 * @throws {UsageError} `'--backend' names an unknown backend 'x' (known: tensorflow, webgpu, webgl, wasm, cpu)`.
 */
export function backendOption(ctx: Ctx, value: string | undefined): BackendName | undefined {
  return value === undefined ? undefined : asUsage(ctx, () => parseBackendName(ctx.op, '--backend', value));
}

/** The `--backend <name>` option of every CLI (its value checked by {@link backendOption}). */
export const BACKEND_OPTION = {
  type: 'string',
  value: '<name>',
  description: `tfjs backend: ${BACKEND_NAMES.join(', ')}. Default: the best available (initBackend's choice).`,
} as const satisfies OptionSpec;

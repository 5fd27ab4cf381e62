// Validation helpers shared by the recipes' JSON configs: every error is one line naming the recipe and the field.
import { GeolipError } from '@geolip/geometry';

/**
 * A recipe config that does not validate, or a recipe input (a file named by the config) that does not fit it.
 * The message reads `<recipe> config: '<path>' must be …` (or `<recipe>: …` for inputs); `path` is the dotted
 * config path of the offending field (`lr`, `loss.bce`, `modelConfig`) when there is one. The CLI prints the
 * message and exits 1.
 */
export class RecipeConfigError extends GeolipError {
  /**
   * Dotted path of the offending config field, e.g. `optimizer.lr`; undefined when the error is not about one
   * field.
   */
  readonly path: string | undefined;

  /**
   * @param op - what failed: `'<recipe> config'` for a config field, `'<recipe>'` for an input or run-directory
   *   problem.
   * @param message - the rest of the line (without the `op: ` prefix).
   * @param options - `path`: the config field; `cause`: the underlying error.
   */
  constructor(op: string, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(op, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RecipeConfigError';
    this.path = options.path;
  }
}

/** How {@link ConfigReader.num} checks a number. */
export type NumberKind = 'int>0' | 'int>=0' | '>0' | '>=0' | 'number';

const WANT: Record<NumberKind, string> = {
  'int>0': 'a positive integer',
  'int>=0': 'a non-negative integer',
  '>0': 'a positive number',
  '>=0': 'a non-negative number',
  number: 'a finite number',
};

/** True for a plain JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
/** A config value as it appears in an error message: strings quoted, everything else as JSON. */
export const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/** Field readers bound to one recipe (made by {@link configReader}). */
export interface ConfigReader {
  /** The recipe name used in every message. */
  readonly recipe: string;
  /** Throws a {@link RecipeConfigError} `<recipe> config: <msg>` (with `path` when given). */
  fail(msg: string, path?: string): never;
  /** Refuses keys outside `allowed` (names the first unknown one and lists the valid ones). */
  keys(obj: Record<string, unknown>, allowed: readonly string[], prefix?: string): void;
  /** An optional object field (undefined when absent). */
  object(obj: Record<string, unknown>, key: string, prefix?: string): Record<string, unknown> | undefined;
  /** A required non-empty string field. */
  str(obj: Record<string, unknown>, key: string, prefix?: string): string;
  /** An optional non-empty string field. */
  optStr(obj: Record<string, unknown>, key: string, prefix?: string): string | undefined;
  /** A number field checked by `kind`, `fallback` when absent. */
  num(obj: Record<string, unknown>, key: string, kind: NumberKind, fallback: number, prefix?: string): number;
  /** A string field that must be one of `allowed`, `fallback` when absent. */
  choice<T extends string>(
    obj: Record<string, unknown>,
    key: string,
    allowed: readonly T[],
    fallback: T,
    prefix?: string,
  ): T;
  /** An optional boolean field, `fallback` when absent. */
  bool(obj: Record<string, unknown>, key: string, fallback: boolean, prefix?: string): boolean;
}

/** Dotted config path of `key` under `prefix`. */
export const configPath = (prefix: string, key: string): string => (prefix === '' ? key : `${prefix}.${key}`);

/** Field readers bound to one recipe name (used in every message). */
export function configReader(recipe: string): ConfigReader {
  const op = `${recipe} config`;
  const fail = (msg: string, path?: string): never => {
    throw new RecipeConfigError(op, msg, path === undefined ? {} : { path });
  };
  const path = configPath;
  const reader: ConfigReader = {
    recipe,
    fail,
    keys(obj, allowed, prefix = '') {
      for (const k of Object.keys(obj)) {
        if (!allowed.includes(k))
          fail(
            `unknown field '${path(prefix, k)}' (valid: ${allowed.map((a) => path(prefix, a)).join(', ')})`,
            path(prefix, k),
          );
      }
    },
    object(obj, key, prefix = '') {
      const v = obj[key];
      if (v === undefined) return undefined;
      if (!isObject(v)) fail(`'${path(prefix, key)}' must be an object, got ${show(v)}`, path(prefix, key));
      return v as Record<string, unknown>;
    },
    str(obj, key, prefix = '') {
      const v = obj[key];
      if (v === undefined) fail(`missing field '${path(prefix, key)}'`, path(prefix, key));
      if (typeof v !== 'string' || v === '')
        fail(`'${path(prefix, key)}' must be a non-empty string, got ${show(v)}`, path(prefix, key));
      return v as string;
    },
    optStr(obj, key, prefix = '') {
      return obj[key] === undefined ? undefined : reader.str(obj, key, prefix);
    },
    num(obj, key, kind, fallback, prefix = '') {
      const v = obj[key] ?? fallback;
      const ok =
        typeof v === 'number' &&
        Number.isFinite(v) &&
        (kind.startsWith('int') ? Number.isInteger(v) : true) &&
        (kind.endsWith('>0') ? v > 0 : kind.endsWith('>=0') ? v >= 0 : true);
      if (!ok) fail(`'${path(prefix, key)}' must be ${WANT[kind]}, got ${show(v)}`, path(prefix, key));
      return v as number;
    },
    choice<T extends string>(
      obj: Record<string, unknown>,
      key: string,
      allowed: readonly T[],
      fallback: T,
      prefix = '',
    ): T {
      const v = obj[key] ?? fallback;
      if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
        fail(
          `'${path(prefix, key)}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(v)}`,
          path(prefix, key),
        );
      }
      return v as T;
    },
    bool(obj, key, fallback, prefix = '') {
      const v = obj[key] ?? fallback;
      if (typeof v !== 'boolean') fail(`'${path(prefix, key)}' must be true or false`, path(prefix, key));
      return v as boolean;
    },
  };
  return reader;
}

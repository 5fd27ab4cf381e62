// Validation helpers shared by the recipes' JSON configs: every error is one line naming the recipe and the field.

/** A recipe config that does not validate (the CLI prints its message and exits 1). */
export class RecipeConfigError extends Error {}

export type NumberKind = 'int>0' | 'int>=0' | '>0' | '>=0' | 'number';

const WANT: Record<NumberKind, string> = {
  'int>0': 'a positive integer',
  'int>=0': 'a non-negative integer',
  '>0': 'a positive number',
  '>=0': 'a non-negative number',
  number: 'a finite number',
};

export const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
export const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));

/** Field readers bound to one recipe name (used in every message). */
export function configReader(recipe: string) {
  const fail = (msg: string): never => {
    throw new RecipeConfigError(`${recipe} config: ${msg}`);
  };
  const path = (prefix: string, key: string) => (prefix === '' ? key : `${prefix}.${key}`);
  return {
    fail,
    /** Refuses keys outside `allowed` (names the first unknown one and lists the valid ones). */
    keys(obj: Record<string, unknown>, allowed: readonly string[], prefix = ''): void {
      for (const k of Object.keys(obj)) {
        if (!allowed.includes(k)) fail(`unknown field '${path(prefix, k)}' (valid: ${allowed.map((a) => path(prefix, a)).join(', ')})`);
      }
    },
    object(obj: Record<string, unknown>, key: string, prefix = ''): Record<string, unknown> | undefined {
      const v = obj[key];
      if (v === undefined) return undefined;
      if (!isObject(v)) fail(`'${path(prefix, key)}' must be an object, got ${show(v)}`);
      return v as Record<string, unknown>;
    },
    str(obj: Record<string, unknown>, key: string, prefix = ''): string {
      const v = obj[key];
      if (v === undefined) fail(`missing field '${path(prefix, key)}'`);
      if (typeof v !== 'string' || v === '') fail(`'${path(prefix, key)}' must be a non-empty string, got ${show(v)}`);
      return v as string;
    },
    optStr(obj: Record<string, unknown>, key: string, prefix = ''): string | undefined {
      return obj[key] === undefined ? undefined : this.str(obj, key, prefix);
    },
    num(obj: Record<string, unknown>, key: string, kind: NumberKind, fallback: number, prefix = ''): number {
      const v = obj[key] ?? fallback;
      const ok =
        typeof v === 'number' &&
        Number.isFinite(v) &&
        (kind.startsWith('int') ? Number.isInteger(v) : true) &&
        (kind.endsWith('>0') ? v > 0 : kind.endsWith('>=0') ? v >= 0 : true);
      if (!ok) fail(`'${path(prefix, key)}' must be ${WANT[kind]}, got ${show(v)}`);
      return v as number;
    },
    choice<T extends string>(obj: Record<string, unknown>, key: string, allowed: readonly T[], fallback: T, prefix = ''): T {
      const v = obj[key] ?? fallback;
      if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(`'${path(prefix, key)}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(v)}`);
      return v as T;
    },
  };
}

/** Internal: the config pieces the recipes share, read with the recipe kit of `@geolip/train`. */
import { DATA_KEYS, isObject, optimizerKeys } from '@geolip/train';
import type { ConfigReader, OptimizerBlock } from '@geolip/train';

/**
 * The top-level keys of a recipe that trains on a data block: `data`, `trainLimit`, `testLimit`, `epochs`,
 * `batchSize` and the optimizer block's keys (those with a default in `optimizer`), in that order.
 */
export function trainingKeys(optimizer: Partial<OptimizerBlock>): string[] {
  return [...DATA_KEYS, 'epochs', 'batchSize', ...optimizerKeys(optimizer)];
}

/**
 * Checks that a recipe's parsed config is a JSON object whose fields are all in `keys`, and returns it.
 * @throws {RecipeConfigError} naming the recipe's config (through `r`): not an object, or an unknown field.
 */
export function readConfigObject(r: ConfigReader, raw: unknown, keys: readonly string[]): Record<string, unknown> {
  if (!isObject(raw)) r.fail('must be a JSON object');
  const o = raw as Record<string, unknown>;
  r.keys(o, keys);
  return o;
}

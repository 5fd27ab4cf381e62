// Model overrides in recipe configs: the recipe reads them as an object and leaves their validation to the model's
// own config check (its constructor or preset function), so a recipe accepts exactly what the model accepts.
import { GeolipError } from '@geolip/geometry';
import type { ConfigReader } from '@geolip/train';

/** The object at `key` (default `{}` when absent); its values are checked by the model, not here. */
export function modelOverrides(
  r: ConfigReader,
  obj: Record<string, unknown>,
  key = 'modelConfig',
): Record<string, unknown> {
  return r.object(obj, key) ?? {};
}

/**
 * Builds (or validates) a model config with the model's own checks; a GeoLIP error from them becomes the recipe's
 * config error `'<key>' is invalid: <the model's message>` (path `key`). Other errors pass through.
 */
export function withModelConfig<T>(r: ConfigReader, key: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!GeolipError.isInstance(error)) throw error;
    return r.fail(`'${key}' is invalid: ${error.message}`, key);
  }
}

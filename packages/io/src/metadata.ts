/**
 * The model metadata contract: what a safetensors file's `__metadata__` says about the model inside it, written once
 * ({@link writeModelMetadata}) and read once ({@link readModelMetadata}).
 *
 * Keys (contract version {@link MODEL_METADATA_FORMAT}):
 * - `geolip.type`: the registry key of the model, `<package>/<model>` (e.g. `vision/dual-stream-vit`);
 * - `geolip.config`: JSON of the constructor config;
 * - `geolip.format`: the contract version, `"1"`;
 * - `geolip.extra` (optional): JSON object, model-specific (anchor labels, class names, provenance…).
 *
 * Files written before the contract tagged their model under four other keys; {@link readModelMetadata} reads them
 * here and nowhere else: `geolip.model` (a type string such as `caption-encoder`, or a JSON blob with the config),
 * `geolip.module` (anchors modules), `geolip.class` (anchor-bank checkpoints, their config under `config`) and
 * `geolip.consensus` (consensus files). Their other `geolip.*` keys become `extra`.
 */
import { FormatError, InvalidArgumentError } from '@geolip/geometry';

/** The version of the metadata contract that {@link writeModelMetadata} writes. */
export const MODEL_METADATA_FORMAT = '1';

/** The metadata keys of the contract. */
export const MODEL_METADATA_KEYS = Object.freeze({
  type: 'geolip.type',
  config: 'geolip.config',
  format: 'geolip.format',
  extra: 'geolip.extra',
} as const);

/** The legacy keys that named the model before the contract, in the order {@link readModelMetadata} tries them. */
export const LEGACY_MODEL_KEYS: readonly string[] = Object.freeze([
  'geolip.model',
  'geolip.module',
  'geolip.class',
  'geolip.consensus',
]);

/**
 * Registry keys of the type strings that legacy files wrote under `geolip.model` / `geolip.module` / `geolip.class`.
 * A legacy string not listed here is kept as is, under the `legacy/` prefix.
 */
export const LEGACY_MODEL_TYPES: Readonly<Record<string, string>> = Object.freeze({
  'caption-encoder': 'text/caption-encoder',
  'dual-stream': 'vision/dual-stream-vit',
  vit: 'vision/vit',
  glfm: 'diffusion/glfm',
  'fmnist-david': 'vision/david',
  BaseTierSoup: 'vision/base-tier-soup',
  'ViTEncoder+Linear': 'vision/vit',
  'mlp-student': 'nn/mlp-student',
  AnchorBank: 'anchors/anchor-bank',
  Constellation: 'anchors/constellation',
  Patchwork: 'anchors/patchwork',
  consensus: 'train/consensus',
});

/** What {@link writeModelMetadata} takes. */
export interface ModelMetadataInput {
  /** The registry key, `<package>/<model>`: letters, digits, `.`, `_`, `-`, one or more `/`. */
  type: string;
  /** The constructor config: any JSON-serialisable value (usually a plain object). */
  config: unknown;
  /** Model-specific extras (a JSON object), e.g. class names or anchor labels. */
  extra?: Record<string, unknown> | undefined;
}

/** What {@link readModelMetadata} returns. */
export interface ModelMetadata {
  /** The registry key (legacy names mapped through {@link LEGACY_MODEL_TYPES}). */
  type: string;
  /** The parsed constructor config; `undefined` when the file has none (some legacy files). */
  config: unknown;
  /**
   * Model-specific extras: `geolip.extra`, or a legacy file's other `geolip.*` keys (prefix dropped, values parsed as
   * JSON where they parse, else kept as strings).
   */
  extra: Record<string, unknown>;
  /** `"1"` for files written by {@link writeModelMetadata}; `"legacy"` for older files. */
  format: string;
  /** The legacy key the type came from, when `format` is `"legacy"`. */
  legacyKey?: string;
}

const TYPE_RE = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The `__metadata__` entries that describe a model under the contract: pass the result (merged with any other
 * string entries of your own) to `writeSafetensors`.
 *
 * @example
 * writeSafetensors(weights, writeModelMetadata({ type: 'vision/dual-stream-vit', config, extra: { classes } }));
 * @throws {InvalidArgumentError} naming `writeModelMetadata` and the field: a type that is not `<package>/<model>`,
 *   a config that JSON cannot represent (undefined, a function, a cycle, a bigint), extra that is not an object.
 */
export function writeModelMetadata(input: ModelMetadataInput): Record<string, string> {
  const op = 'writeModelMetadata';
  if (!isPlainObject(input)) throw new InvalidArgumentError(op, 'input', 'must be an object { type, config, extra? }');
  const { type, config, extra } = input;
  if (typeof type !== 'string' || !TYPE_RE.test(type))
    throw new InvalidArgumentError(
      op,
      'type',
      `must be '<package>/<model>' (letters, digits, '.', '_', '-'), got ${JSON.stringify(type)}`,
    );
  const json = (what: string, value: unknown): string => {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (cause) {
      throw new InvalidArgumentError(
        op,
        what,
        `cannot be written as JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
    if (text === undefined)
      throw new InvalidArgumentError(op, what, 'cannot be written as JSON (undefined or a function)');
    return text;
  };
  const out: Record<string, string> = {
    [MODEL_METADATA_KEYS.type]: type,
    [MODEL_METADATA_KEYS.config]: json('config', config),
    [MODEL_METADATA_KEYS.format]: MODEL_METADATA_FORMAT,
  };
  if (extra !== undefined) {
    if (!isPlainObject(extra)) throw new InvalidArgumentError(op, 'extra', 'must be a plain object');
    out[MODEL_METADATA_KEYS.extra] = json('extra', extra);
  }
  return out;
}

function parseJsonField(op: string, key: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new FormatError(
      op,
      'metadata',
      `'${key}' is not JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

function legacyExtra(metadata: Record<string, string>, skip: readonly string[]): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.startsWith('geolip.') || skip.includes(key)) continue;
    let parsed: unknown = value;
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      parsed = value;
    }
    Object.defineProperty(extra, key.slice('geolip.'.length), {
      value: parsed,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return extra;
}

const legacyType = (name: string): string => LEGACY_MODEL_TYPES[name] ?? (TYPE_RE.test(name) ? name : `legacy/${name}`);

/**
 * Which model a file holds and how to build it, from its safetensors `__metadata__`: the contract's keys, or one of
 * the legacy keys ({@link LEGACY_MODEL_KEYS}) in files written before it.
 *
 * @example
 * const { tensors, metadata } = readSafetensors(bytes);
 * const { type, config, extra } = readModelMetadata(metadata); // 'vision/dual-stream-vit', {...}, { classes: [...] }
 * @throws {InvalidArgumentError} naming `readModelMetadata` and `'metadata'` when it is not an object of strings.
 * @throws {FormatError} naming `readModelMetadata` and `'metadata'`: no model key at all (the message lists the
 *   `geolip.*` keys found), a contract version this reader does not know, `geolip.config` / `geolip.extra` that are
 *   not JSON (or extra not an object), an empty type.
 */
export function readModelMetadata(metadata: Record<string, string>): ModelMetadata {
  const op = 'readModelMetadata';
  if (!isPlainObject(metadata) || Object.values(metadata).some((v) => typeof v !== 'string')) {
    throw new InvalidArgumentError(
      op,
      'metadata',
      'must be an object of strings (the __metadata__ of a safetensors file)',
    );
  }
  const K = MODEL_METADATA_KEYS;
  const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(metadata, key);
  const configOf = (): unknown => (has(K.config) ? parseJsonField(op, K.config, metadata[K.config]!) : undefined);
  if (has(K.type)) {
    const format = has(K.format) ? metadata[K.format]! : MODEL_METADATA_FORMAT;
    if (format !== MODEL_METADATA_FORMAT)
      throw new FormatError(
        op,
        'metadata',
        `'${K.format}' is '${format}'; this reader knows version ${MODEL_METADATA_FORMAT}`,
      );
    const type = metadata[K.type]!;
    if (type.length === 0) throw new FormatError(op, 'metadata', `'${K.type}' is empty`);
    const extra = has(K.extra) ? parseJsonField(op, K.extra, metadata[K.extra]!) : {};
    if (!isPlainObject(extra)) throw new FormatError(op, 'metadata', `'${K.extra}' must be a JSON object`);
    return { type, config: configOf(), extra, format };
  }
  const model = metadata['geolip.model'];
  if (model !== undefined) {
    if (model.trimStart().startsWith('{')) {
      // A JSON blob: { recipe | model | type, ...config }.
      const blob = parseJsonField(op, 'geolip.model', model);
      if (!isPlainObject(blob)) throw new FormatError(op, 'metadata', "'geolip.model' JSON must be an object");
      const name = [blob.type, blob.model, blob.recipe].find((v): v is string => typeof v === 'string' && v.length > 0);
      if (name === undefined)
        throw new FormatError(
          op,
          'metadata',
          "'geolip.model' JSON names no type (no 'type', 'model' or 'recipe' field)",
        );
      return {
        type: legacyType(name),
        config: has(K.config) ? configOf() : blob,
        extra: legacyExtra(metadata, ['geolip.model', K.config]),
        format: 'legacy',
        legacyKey: 'geolip.model',
      };
    }
    if (model.length === 0) throw new FormatError(op, 'metadata', "'geolip.model' is empty");
    return {
      type: legacyType(model),
      config: configOf(),
      extra: legacyExtra(metadata, ['geolip.model', K.config]),
      format: 'legacy',
      legacyKey: 'geolip.model',
    };
  }
  const module = metadata['geolip.module'];
  if (module !== undefined) {
    if (module.length === 0) throw new FormatError(op, 'metadata', "'geolip.module' is empty");
    return {
      type: LEGACY_MODEL_TYPES[module] ?? `anchors/${module}`,
      config: configOf(),
      extra: legacyExtra(metadata, ['geolip.module', K.config]),
      format: 'legacy',
      legacyKey: 'geolip.module',
    };
  }
  const cls = metadata['geolip.class'];
  if (cls !== undefined) {
    if (cls.length === 0) throw new FormatError(op, 'metadata', "'geolip.class' is empty");
    // Anchor-bank checkpoints kept their config under the plain key `config`.
    const legacyConfig = !has(K.config) && has('config') ? parseJsonField(op, 'config', metadata.config!) : configOf();
    return {
      type: legacyType(cls),
      config: legacyConfig,
      extra: legacyExtra(metadata, ['geolip.class', K.config]),
      format: 'legacy',
      legacyKey: 'geolip.class',
    };
  }
  const consensus = metadata['geolip.consensus'];
  if (consensus !== undefined) {
    return {
      type: LEGACY_MODEL_TYPES.consensus!,
      config: parseJsonField(op, 'geolip.consensus', consensus),
      extra: legacyExtra(metadata, ['geolip.consensus']),
      format: 'legacy',
      legacyKey: 'geolip.consensus',
    };
  }
  const found = Object.keys(metadata).filter((k) => k.startsWith('geolip.'));
  throw new FormatError(
    op,
    'metadata',
    `names no model: no '${K.type}' (nor a legacy ${LEGACY_MODEL_KEYS.map((k) => `'${k}'`).join(
      ', ',
    )}); geolip keys found: ${found.length > 0 ? found.join(', ') : 'none'}`,
  );
}

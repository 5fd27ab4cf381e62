/**
 * Loading tfjs models from the file system without `@tensorflow/tfjs-node` (whose `tf.io.fileSystem` is the
 * only file-system handler tfjs ships): a plain `model.json` + weight shards reader, and a reader of the
 * browserify bundles (`*.min.js`) in which nsfwjs ships its models.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';

import { FormatError } from '@geolip/geometry';
import type * as tf from '@tensorflow/tfjs-core';

/** Number of parameters (scalars) described by a weights manifest. */
export function countManifestParams(manifest: tf.io.WeightsManifestConfig): number {
  let total = 0;
  for (const group of manifest) for (const w of group.weights) total += w.shape.reduce((a, b) => a * b, 1);
  return total;
}

/** The message of an error, from this realm or another (`vm` errors are not `instanceof Error` here). */
function reason(e: unknown): string {
  const message = typeof e === 'object' && e !== null ? (e as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : String(e);
}

function concat(parts: readonly Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out.buffer;
}

function artifactsOf(json: tf.io.ModelJSON, weightData: ArrayBuffer): tf.io.ModelArtifacts {
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData,
  };
  for (const key of [
    'format',
    'generatedBy',
    'convertedBy',
    'trainingConfig',
    'signature',
    'userDefinedMetadata',
    'modelInitializer',
  ] as const) {
    if (json[key] !== undefined) (artifacts as Record<string, unknown>)[key] = json[key];
  }
  return artifacts;
}

function checkModelJson(op: string, file: string, json: unknown): tf.io.ModelJSON {
  const j = json as Partial<tf.io.ModelJSON> | null;
  if (typeof j !== 'object' || j === null || typeof j.modelTopology !== 'object' || !Array.isArray(j.weightsManifest)) {
    throw new FormatError(op, 'modelJson', `${file}: not a tfjs model.json (needs modelTopology and weightsManifest)`);
  }
  return j as tf.io.ModelJSON;
}

/**
 * A tfjs `IOHandler` that reads a `model.json` (layers or graph model) and its weight shards from disk.
 *
 * @param modelJsonPath - path of the `model.json`; shard paths in its `weightsManifest` are relative to its folder.
 * @returns an `IOHandler` for `tf.loadLayersModel` / `tf.loadGraphModel` (it only loads; `save` is absent).
 * @throws {FormatError} (from `load()`) naming the file when the JSON is not a tfjs model or a shard is missing.
 *
 * @example
 * ```ts
 * const model = await loadGraphModel(fileSystemIOHandler('models/nanodet.json'));
 * ```
 */
export function fileSystemIOHandler(modelJsonPath: string): tf.io.IOHandler {
  const op = 'fileSystemIOHandler';
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let json: tf.io.ModelJSON;
      try {
        json = checkModelJson(op, modelJsonPath, JSON.parse(await readFile(modelJsonPath, 'utf8')));
      } catch (e) {
        if (e instanceof FormatError) throw e;
        throw new FormatError(op, 'modelJsonPath', `${modelJsonPath}: cannot read the model (${reason(e)})`, {
          cause: e,
        });
      }
      const dir = dirname(modelJsonPath);
      const parts: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        for (const p of group.paths) {
          const file = join(dir, p);
          try {
            parts.push(new Uint8Array(await readFile(file)));
          } catch (e) {
            throw new FormatError(
              op,
              'modelJsonPath',
              `${modelJsonPath}: weight shard ${file} cannot be read (${reason(e)})`,
              { cause: e },
            );
          }
        }
      }
      return artifactsOf(json, concat(parts));
    },
  };
}

/**
 * Evaluates one browserify UMD bundle in an empty `vm` context (no `require`, no `process`, no globals of
 * this realm) and returns its `module.exports`.
 */
async function evaluateBundle(op: string, file: string): Promise<unknown> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (e) {
    throw new FormatError(op, 'dir', `${file} cannot be read (${reason(e)})`, { cause: e });
  }
  const sandbox = { module: { exports: {} as unknown }, exports: {} };
  try {
    runInNewContext(source, sandbox, { filename: file, timeout: 60_000 });
  } catch (e) {
    throw new FormatError(op, 'dir', `${file} is not a loadable model bundle (${reason(e)})`, { cause: e });
  }
  const exported = sandbox.module.exports;
  // Objects made in the other realm fail tfjs's iteration checks: copy them into this one (a model.json is small).
  return typeof exported === 'object' && exported !== null
    ? (JSON.parse(JSON.stringify(exported)) as unknown)
    : exported;
}

/**
 * A tfjs `IOHandler` for a model stored as nsfwjs stores it: `<dir>/model.min.js` (a browserify module whose
 * export is the `model.json` object) and one `<dir>/<shard>.min.js` per weight shard of the manifest (a module
 * whose export is the shard's bytes in base64).
 *
 * @param dir - the model's folder, e.g. `node_modules/nsfwjs/dist/models/mobilenet_v2`.
 * @throws {FormatError} (from `load()`) naming the file that is missing or does not hold what is expected.
 *
 * @remarks The bundles are JavaScript (object literals, not JSON), so they are evaluated, each in a fresh
 * `node:vm` context holding only `module` and `exports`: they see no `require`, `process` or globals of the
 * caller. `vm` is not a security boundary: load only bundles from packages you installed. Decoding the base64
 * needs about 2× the shard size in memory while it runs (InceptionV3: 23 MB of weights).
 */
export function bundledModelIOHandler(dir: string): tf.io.IOHandler {
  const op = 'bundledModelIOHandler';
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const modelFile = join(dir, 'model.min.js');
      const json = checkModelJson(op, modelFile, await evaluateBundle(op, modelFile));
      const parts: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        for (const p of group.paths) {
          const file = join(dir, `${p}.min.js`);
          const base64 = await evaluateBundle(op, file);
          if (typeof base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64.slice(0, 1024))) {
            throw new FormatError(op, 'dir', `${file} does not export a base64 string`);
          }
          parts.push(new Uint8Array(Buffer.from(base64, 'base64')));
        }
      }
      return artifactsOf(json, concat(parts));
    },
  };
}

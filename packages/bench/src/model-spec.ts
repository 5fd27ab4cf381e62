// The one place a model spec (`--model`, `--image-model`, `loadModel`'s argument) is classified.
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What a model spec names: a builtin model, a `.safetensors` file of a text encoder, an ES module, or nothing
 * known.
 */
export type ModelSpec =
  | { kind: 'builtin'; name: string }
  | { kind: 'safetensors'; path: string }
  | { kind: 'module'; path: string; url?: string }
  | { kind: 'hf'; path: string }
  | { kind: 'onnx'; path: string }
  | { kind: 'unknown'; spec: string };

/**
 * Classifies a model spec: a key of `builtins` first; then `hf:<dir>` (a transformers.js folder) and `onnx:<file>`
 * (an ONNX sentence encoder, with a tokenizer given apart); otherwise a path when it contains `/` or `\`, starts
 * with `.`
 * or `file:`, or ends in `.js`, `.mjs`, `.cjs`, `.ts`, `.mts`, `.cts` or `.safetensors`; otherwise unknown.
 * Paths are resolved against the working directory (a `file:` URL is kept as the module's URL).
 *
 * @param spec - what the user wrote.
 * @param builtins - the names of the builtin models of this kind (text or image).
 * @returns the kind, with the absolute path of a file.
 * @example
 * ```ts
 * classifyModelSpec('glove-avg', ['glove-avg']);      // { kind: 'builtin', name: 'glove-avg' }
 * classifyModelSpec('./s.safetensors', ['glove-avg']); // { kind: 'safetensors', path: '/cwd/s.safetensors' }
 * classifyModelSpec('nope', ['glove-avg']);           // { kind: 'unknown', spec: 'nope' }
 * ```
 */
export function classifyModelSpec(spec: string, builtins: readonly string[]): ModelSpec {
  if (builtins.includes(spec)) return { kind: 'builtin', name: spec };
  // `hf:<dir>`: a transformers.js folder (tokenizer.json, onnx/model.onnx); `onnx:<file>`: a bare ONNX model
  const prefixed = /^(hf|onnx):(.+)$/.exec(spec);
  if (prefixed) {
    const p = prefixed[2]!;
    return { kind: prefixed[1] as 'hf' | 'onnx', path: isAbsolute(p) ? p : resolvePath(process.cwd(), p) };
  }
  const isUrl = spec.startsWith('file:');
  const pathLike = isUrl || /[\\/]/.test(spec) || spec.startsWith('.') || /\.((m|c)?[jt]s|safetensors)$/i.test(spec);
  if (!pathLike) return { kind: 'unknown', spec };
  const path = isUrl ? fileURLToPath(spec) : isAbsolute(spec) ? spec : resolvePath(process.cwd(), spec);
  if (/\.safetensors$/i.test(spec)) return { kind: 'safetensors', path };
  return isUrl ? { kind: 'module', path, url: spec } : { kind: 'module', path };
}

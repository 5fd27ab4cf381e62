import { readFile } from 'node:fs/promises';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';

/** A COCO image record (only the fields the benchmarks use). */
export interface CocoImage {
  id: number;
  fileName: string;
}

/** One caption of a COCO captions file. */
export interface CocoCaption {
  imageId: number;
  caption: string;
  /** Annotation id, when present. */
  id?: number;
}

/** Result of {@link loadCocoCaptions}. */
export interface CocoCaptions {
  /** Images in file order. */
  images: CocoImage[];
  /** Captions in file order. */
  captions: CocoCaption[];
}

/** A COCO category. */
export interface CocoCategory {
  id: number;
  name: string;
}

/** Result of {@link loadCocoInstances}. */
export interface CocoInstances {
  /** Images in file order; row i of `targets` belongs to `images[i]`. */
  images: CocoImage[];
  /** Categories sorted by id; column c of `targets` is `categories[c]`. */
  categories: CocoCategory[];
  /** `[N·C]` row-major multi-label targets (1 iff image has ≥ 1 instance of the category). */
  targets: Uint8Array;
  /** `[N·C]` row-major instance counts: the annotations of each image and category (`targets` = counts > 0). */
  counts: Uint32Array;
  /** C = `categories.length` (80 for COCO). */
  numClasses: number;
}

/** Options of {@link loadCocoInstances}. */
export interface CocoInstancesOptions {
  /**
   * Category list defining the class index (e.g. `coco/categories.json`), so that several files
   * share one column order. Sorted by id before use. Default: the file's own `categories`.
   */
  categories?: readonly CocoCategory[];
}

type Json = Record<string, unknown>;

function asArray(op: string, file: string, obj: Json, key: string): Json[] {
  const v = obj[key];
  if (!Array.isArray(v)) throw new FormatError(op, 'file', `${file}: expected an array '${key}' at the top level`);
  return v as Json[];
}

function num(op: string, file: string, v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new FormatError(op, 'file', `${file}: ${what} must be an integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function parseJson(op: string, text: string, file: string): Json {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new FormatError(op, 'file', `${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new FormatError(op, 'file', `${file}: expected a JSON object`);
  }
  return obj as Json;
}

function parseImages(op: string, file: string, obj: Json): { images: CocoImage[]; index: Map<number, number> } {
  const images: CocoImage[] = [];
  const index = new Map<number, number>();
  asArray(op, file, obj, 'images').forEach((im, i) => {
    const id = num(op, file, im.id, `images[${i}].id`);
    if (typeof im.file_name !== 'string')
      throw new FormatError(op, 'file', `${file}: images[${i}].file_name must be a string`);
    if (index.has(id)) throw new FormatError(op, 'file', `${file}: duplicate image id ${id} at images[${i}]`);
    index.set(id, images.length);
    images.push({ id, fileName: im.file_name });
  });
  return { images, index };
}

async function readText(op: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(op, 'file', `cannot read ${file} (${(e as Error).message})`, { cause: e });
  }
}

/**
 * Parses the JSON text of a COCO captions file (`captions_{train,val}2017.json`).
 *
 * @param text - File contents.
 * @param file - Path or label used in error messages.
 * @returns Images and captions in file order.
 * @throws {FormatError} Invalid JSON, missing `images`/`annotations` arrays, non-integer ids,
 *   duplicate image ids, a non-string caption, or a caption whose `image_id` is not in `images`.
 * @example
 * ```ts
 * const c = parseCocoCaptions(
 *   '{"images":[{"id":1,"file_name":"a.jpg"}],' + '"annotations":[{"image_id":1,"id":7,"caption":"A cat."}]}',
 *   'x.json',
 * );
 * c.captions[0]!.caption; // 'A cat.'
 * ```
 */
export function parseCocoCaptions(text: string, file: string): CocoCaptions {
  return parseCaptionsImpl('parseCocoCaptions', text, file);
}

function parseCaptionsImpl(op: string, text: string, file: string): CocoCaptions {
  const obj = parseJson(op, text, file);
  const { images, index } = parseImages(op, file, obj);
  const captions: CocoCaption[] = asArray(op, file, obj, 'annotations').map((a, i) => {
    const imageId = num(op, file, a.image_id, `annotations[${i}].image_id`);
    if (!index.has(imageId))
      throw new FormatError(op, 'file', `${file}: annotations[${i}] refers to unknown image ${imageId}`);
    if (typeof a.caption !== 'string')
      throw new FormatError(op, 'file', `${file}: annotations[${i}].caption must be a string`);
    const c: CocoCaption = { imageId, caption: a.caption };
    if (typeof a.id === 'number') c.id = a.id;
    return c;
  });
  return { images, captions };
}

/**
 * Loads a COCO captions file (`captions_val2017.json`: 5000 images, 25,014 captions).
 *
 * @param file - Path of the JSON file.
 * @returns Images and captions in file order (see {@link parseCocoCaptions}).
 * @throws {InvalidArgumentError} The file cannot be read (message names the path).
 * @throws {FormatError} The JSON does not have the COCO captions structure.
 * @example
 * ```ts
 * const { images, captions } = await loadCocoCaptions(
 *   '../shared/data/coco/coco-mini/annotations/captions_val2017.json',
 * );
 * images.length; // 79
 * captions.length; // 395
 * ```
 */
export async function loadCocoCaptions(file: string): Promise<CocoCaptions> {
  const op = 'loadCocoCaptions';
  return parseCaptionsImpl(op, await readText(op, file), file);
}

/**
 * Parses the JSON text of a COCO instances file into multi-label image targets.
 *
 * targets[i·C + c] = 1 iff some annotation (crowd ones included) of `images[i]` has the category
 * `categories[c]`, where the class index c is the position of the category id in sorted order.
 *
 * @param text - File contents.
 * @param file - Path or label used in error messages.
 * @param options - `categories` to fix the class index across files.
 * @returns Images, sorted categories and `[N·C]` targets.
 * @throws {FormatError} Invalid structure, an annotation referring to an unknown image, or an
 *   annotation whose category is not in the category list.
 * @throws {InvalidArgumentError} `options.categories` is empty or has duplicate ids.
 * @example
 * ```ts
 * const t = parseCocoInstances(
 *   '{"images":[{"id":5,"file_name":"a.jpg"}],' +
 *     '"categories":[{"id":3,"name":"car"},{"id":1,"name":"person"}],' +
 *     '"annotations":[{"image_id":5,"category_id":3}]}',
 *   'x.json',
 * );
 * Array.from(t.targets); // [0, 1]  (person, car)
 * ```
 */
export function parseCocoInstances(text: string, file: string, options: CocoInstancesOptions = {}): CocoInstances {
  return parseInstancesImpl('parseCocoInstances', text, file, options);
}

function parseInstancesImpl(op: string, text: string, file: string, options: CocoInstancesOptions): CocoInstances {
  const obj = parseJson(op, text, file);
  const { images, index } = parseImages(op, file, obj);
  let cats: CocoCategory[];
  if (options.categories) {
    cats = options.categories.map((c) => ({ id: c.id, name: c.name }));
    if (cats.length === 0) throw new InvalidArgumentError(op, 'categories', 'must not be empty');
  } else {
    cats = asArray(op, file, obj, 'categories').map((c, i) => {
      const id = num(op, file, c.id, `categories[${i}].id`);
      if (typeof c.name !== 'string')
        throw new FormatError(op, 'file', `${file}: categories[${i}].name must be a string`);
      return { id, name: c.name };
    });
  }
  cats.sort((p, q) => p.id - q.id);
  const catIndex = new Map<number, number>();
  cats.forEach((c, i) => {
    if (catIndex.has(c.id)) {
      if (options.categories) throw new InvalidArgumentError(op, 'categories', `has duplicate id ${c.id}`);
      throw new FormatError(op, 'file', `${file}: duplicate category id ${c.id}`);
    }
    catIndex.set(c.id, i);
  });
  const C = cats.length;
  const targets = new Uint8Array(images.length * C);
  const counts = new Uint32Array(images.length * C);
  asArray(op, file, obj, 'annotations').forEach((a, i) => {
    const imageId = num(op, file, a.image_id, `annotations[${i}].image_id`);
    const categoryId = num(op, file, a.category_id, `annotations[${i}].category_id`);
    const row = index.get(imageId);
    if (row === undefined)
      throw new FormatError(op, 'file', `${file}: annotations[${i}] refers to unknown image ${imageId}`);
    const col = catIndex.get(categoryId);
    if (col === undefined)
      throw new FormatError(op, 'file', `${file}: annotations[${i}] has unknown category ${categoryId}`);
    targets[row * C + col] = 1;
    counts[row * C + col]!++;
  });
  return { images, categories: cats, targets, counts, numClasses: C };
}

/**
 * Loads a COCO instances file (`instances_val2017.json`) as multi-label image classification
 * targets (see {@link parseCocoInstances}).
 *
 * @param file - Path of the JSON file.
 * @param options - `categories` to fix the class index (e.g. from `coco/categories.json`).
 * @returns Images, sorted categories and dense `[N·C]` targets in image order.
 * @throws {InvalidArgumentError} The file cannot be read, or bad `categories`.
 * @throws {FormatError} The JSON does not have the COCO instances structure.
 * @example
 * ```ts
 * const inst = await loadCocoInstances('../shared/data/coco/coco-mini/annotations/instances_val2017.json');
 * inst.numClasses; // 80
 * ```
 */
export async function loadCocoInstances(file: string, options: CocoInstancesOptions = {}): Promise<CocoInstances> {
  const op = 'loadCocoInstances';
  return parseInstancesImpl(op, await readText(op, file), file, options);
}

/** Ground truth for caption ↔ image retrieval, built by {@link cocoRetrievalTargets}. */
export interface CocoRetrievalTargets {
  /** `[Ncap]` index into `images` of each caption's image (text→image, one relevant image). */
  captionToImage: Int32Array;
  /** For each image index, the caption indices that describe it (image→text, ~5 relevant). */
  imageToCaptions: number[][];
}

/**
 * Builds retrieval ground truth from a captions file: pass `captionToImage` as the `relevant`
 * argument of `recallAtK` for text→image, and `(q) => imageToCaptions[q]` for image→text.
 *
 * @param data - Output of {@link loadCocoCaptions}.
 * @returns Index maps between captions and images (indices into `data.captions` / `data.images`).
 * @throws {FormatError} A caption refers to an image that is not in `data.images`.
 * @example
 * ```ts
 * const gt = cocoRetrievalTargets({
 *   images: [{ id: 9, fileName: 'a.jpg' }],
 *   captions: [{ imageId: 9, caption: 'x' }],
 * });
 * gt.captionToImage[0]; // 0
 * ```
 */
export function cocoRetrievalTargets(data: CocoCaptions): CocoRetrievalTargets {
  const index = new Map<number, number>();
  data.images.forEach((im, i) => index.set(im.id, i));
  const captionToImage = new Int32Array(data.captions.length);
  const imageToCaptions: number[][] = data.images.map(() => []);
  data.captions.forEach((c, i) => {
    const row = index.get(c.imageId);
    if (row === undefined)
      throw new FormatError('cocoRetrievalTargets', 'data', `caption ${i} refers to unknown image ${c.imageId}`);
    captionToImage[i] = row;
    imageToCaptions[row]!.push(i);
  });
  return { captionToImage, imageToCaptions };
}

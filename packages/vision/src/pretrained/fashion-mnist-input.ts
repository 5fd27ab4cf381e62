/**
 * Any picture → a Fashion-MNIST-like input: grayscale, a light garment on black, the garment's longest side
 * filling the 28 pixels, centred. Pure TypeScript (no canvas), so it runs the same in Node and in browsers.
 */
import { InvalidArgumentError } from '@geolip/geometry';

/** Pixels in row-major order with 1 (gray), 3 (RGB) or 4 (RGBA) channels; a browser `ImageData` fits as is. */
export interface RasterImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Default: `data.length / (width · height)`. */
  channels?: 1 | 3 | 4;
}

/** Options of {@link fashionMnistInput}. */
export interface FashionMnistInputOptions {
  /** Side of the square output. Default 28. */
  size?: number;
  /**
   * Make the garment light on black. `'auto'` (default) inverts when the mean of the image's border pixels is above
   * 0.5 (a photo on a light background); `true` / `false` force it.
   */
  invert?: boolean | 'auto';
  /** Crop to the bounding box of the pixels above `trimThreshold` (after inversion) before fitting. Default true. */
  trim?: boolean;
  /** Default 0.1 (of full scale). */
  trimThreshold?: number;
}

const OP = 'fashionMnistInput';

/** Grayscale in [0, 1]; RGBA is composited over white, as a browser shows it. */
function toGray(image: RasterImage, channels: number): Float32Array {
  const n = image.width * image.height;
  const d = image.data;
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (channels === 1) {
      g[i] = d[i]! / 255;
      continue;
    }
    const o = i * channels;
    const luma = (0.299 * d[o]! + 0.587 * d[o + 1]! + 0.114 * d[o + 2]!) / 255;
    const alpha = channels === 4 ? d[o + 3]! / 255 : 1;
    g[i] = alpha * luma + (1 - alpha);
  }
  return g;
}

function borderMean(g: Float32Array, w: number, h: number): number {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (y === 0 || y === h - 1 || x === 0 || x === w - 1) {
        sum += g[y * w + x]!;
        count++;
      }
    }
  }
  return sum / count;
}

/**
 * Area-weighted resampling of `n` source samples to `m`: weights[i] lists [source index, weight] (weights sum
 * to 1).
 */
function areaWeights(n: number, m: number): [number, number][][] {
  const r = n / m;
  const out: [number, number][][] = [];
  for (let i = 0; i < m; i++) {
    const a = i * r;
    const b = (i + 1) * r;
    const row: [number, number][] = [];
    for (let j = Math.floor(a); j < Math.min(n, Math.ceil(b)); j++) {
      const overlap = Math.min(b, j + 1) - Math.max(a, j);
      if (overlap > 0) row.push([j, overlap / r]);
    }
    out.push(row);
  }
  return out;
}

/**
 * Prepares a picture for the Fashion-MNIST classifier the way Fashion-MNIST itself was made (trim, longest side to
 * 28, centre, light on dark): to gray (luma; alpha over white), invert if the background is light, crop to the
 * garment, area-resample so its longest side is `size`, centre on black.
 *
 * @returns `[size, size]` row-major floats in [0, 1], the `pixels` of `FashionMnistClassifier.classify`.
 * @throws {InvalidArgumentError} naming `image` (not an object, non-positive or non-integer sizes, a data length that
 *   is not width · height · channels with 1, 3 or 4 channels) or the bad option.
 * @example
 * const ctx = canvas.getContext('2d')!;
 * const pixels = fashionMnistInput(ctx.getImageData(0, 0, canvas.width, canvas.height));
 * const [prediction] = await classifier.classify(pixels);
 */
export function fashionMnistInput(image: RasterImage, options: FashionMnistInputOptions = {}): Float32Array {
  if (image === null || typeof image !== 'object')
    throw new InvalidArgumentError(OP, 'image', 'must be an object { data, width, height }');
  const { data, width: w, height: h } = image;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray))
    throw new InvalidArgumentError(OP, 'image.data', 'must be a Uint8Array or Uint8ClampedArray');
  if (!Number.isInteger(w) || w < 1)
    throw new InvalidArgumentError(OP, 'image.width', `must be a positive integer, got ${String(w)}`);
  if (!Number.isInteger(h) || h < 1)
    throw new InvalidArgumentError(OP, 'image.height', `must be a positive integer, got ${String(h)}`);
  const channels = image.channels ?? data.length / (w * h);
  if (![1, 3, 4].includes(channels) || data.length !== w * h * channels) {
    throw new InvalidArgumentError(
      OP,
      'image.data',
      `length must be width·height·channels = ${w}·${h}·(1, 3 or 4), got ${data.length}` +
        (image.channels === undefined ? '' : ` for channels ${image.channels}`),
    );
  }
  const { size = 28, invert = 'auto', trim = true, trimThreshold = 0.1 } = options;
  if (!Number.isInteger(size) || size < 1)
    throw new InvalidArgumentError(OP, 'options.size', `must be a positive integer, got ${String(size)}`);
  if (invert !== 'auto' && typeof invert !== 'boolean')
    throw new InvalidArgumentError(OP, 'options.invert', `must be true, false or 'auto', got ${String(invert)}`);
  if (typeof trimThreshold !== 'number' || !(trimThreshold >= 0 && trimThreshold < 1))
    throw new InvalidArgumentError(OP, 'options.trimThreshold', `must be in [0, 1), got ${String(trimThreshold)}`);

  const g = toGray(image, channels);
  if (invert === true || (invert === 'auto' && borderMean(g, w, h) > 0.5))
    for (let i = 0; i < g.length; i++) g[i] = 1 - g[i]!;

  let x0 = 0;
  let y0 = 0;
  let x1 = w;
  let y1 = h;
  if (trim) {
    let minX = w;
    let minY = h;
    let maxX = -1;
    let maxY = -1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (g[y * w + x]! > trimThreshold) {
          if (x < minX) minX = x;
          if (x > maxX) maxX = x;
          if (y < minY) minY = y;
          if (y > maxY) maxY = y;
        }
      }
    }
    if (maxX >= 0) [x0, y0, x1, y1] = [minX, minY, maxX + 1, maxY + 1];
  }
  const bw = x1 - x0;
  const bh = y1 - y0;
  const scale = size / Math.max(bw, bh);
  const tw = Math.max(1, Math.min(size, Math.round(bw * scale)));
  const th = Math.max(1, Math.min(size, Math.round(bh * scale)));
  const wx = areaWeights(bw, tw);
  const wy = areaWeights(bh, th);
  // Rows first ([bh, tw]), then columns ([th, tw]).
  const rows = new Float32Array(bh * tw);
  for (let y = 0; y < bh; y++) {
    for (let i = 0; i < tw; i++) {
      let v = 0;
      for (const [j, wt] of wx[i]!) v += wt * g[(y0 + y) * w + x0 + j]!;
      rows[y * tw + i] = v;
    }
  }
  const out = new Float32Array(size * size);
  const ox = Math.floor((size - tw) / 2);
  const oy = Math.floor((size - th) / 2);
  for (let k = 0; k < th; k++) {
    for (let i = 0; i < tw; i++) {
      let v = 0;
      for (const [j, wt] of wy[k]!) v += wt * rows[j * tw + i]!;
      out[(oy + k) * size + ox + i] = Math.min(1, Math.max(0, v));
    }
  }
  return out;
}

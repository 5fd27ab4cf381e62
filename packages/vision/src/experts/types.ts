/** The shape every image expert of this folder returns, and the options they share. */

/**
 * An image embedder used as an expert (for consensus targets and distillation) or as a baseline.
 *
 * Structurally compatible with `Embedder<string>` of `@geolip/bench` (inputs: image file paths), so an
 * expert can be benchmarked as is.
 */
export interface ImageExpert {
  /** Model name, used in reports and error messages (e.g. `'mobilenet-v2'`). */
  readonly name: string;
  /** Embedding width D: every row `embed` returns has exactly D entries. */
  readonly dim: number;
  /** Number of parameters of the loaded model file (its detection or classification head included). */
  readonly params?: number;
  /**
   * Embeds one batch of images.
   * @param inputs - `[B]` paths of JPEG files.
   * @returns `[B, D]` row-major features (`Float32Array` of length B·D).
   */
  embed(inputs: readonly string[]): Promise<Float32Array>;
  /** Frees the model's weights. The expert must not be used afterwards. */
  dispose?(): void;
}

/** How a non-square image becomes the model's square input. */
export type ImageFit = 'crop' | 'stretch';

/** Options shared by the image experts. */
export interface ImageExpertOptions {
  /** Images per forward pass (memory grows with it). Default 8. */
  batchSize?: number;
  /**
   * `'crop'` (default): the central square (side = the shorter side) is cut out, then resized to the input
   * size, so the aspect ratio is kept and the borders of the long side are lost. `'stretch'`: the whole
   * image is resized to the square input (what nsfwjs and Human do), distorting the aspect ratio.
   */
  fit?: ImageFit;
  /** L2-normalize each output row. Default false: the raw pooled features. */
  normalize?: boolean;
}

/** The shape every text expert of this folder returns. */

/**
 * A sentence embedder used as an expert (for consensus targets and distillation) or as a baseline.
 *
 * Structurally compatible with `Embedder` of `@geolip/bench`, so an expert can be benchmarked as is.
 */
export interface TextExpert {
  /** Model name, used in reports and error messages (e.g. `'glove-avg'`). */
  readonly name: string;
  /** Embedding width D: every row `embed` returns has exactly D entries. */
  readonly dim: number;
  /** Number of parameters, when known. */
  readonly params?: number;
  /**
   * Embeds one batch.
   * @param inputs - `[B]` sentences.
   * @returns `[B, D]` row-major embeddings (`Float32Array` of length B·D).
   */
  embed(inputs: readonly string[]): Promise<Float32Array>;
  /** Frees what the expert holds (worker threads). The expert must not be used afterwards. */
  dispose?(): void;
}

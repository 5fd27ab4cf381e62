/**
 * Names of the kernels `@geolip/nn` adds to tfjs's registry. Each has a WebGPU implementation
 * (`./webgpu`) and a plain-JS reference implementation (`./reference`, registered on request, used to
 * test the fused code paths on the cpu backend). The composed tfjs ops in `../functional` are the
 * ground truth both are tested against.
 */
export const KERNELS = {
  /**
   * `y = (x − mean)·rstd·gamma + beta` over the last axis. Inputs `x [N, D]`, `gamma [D]`, `beta [D]`; attr `eps`.
   */
  layerNorm: 'GeolipLayerNorm',
  /** Per-row `[mean, rstd]` of `x [N, D]` → `[N, 2]`; attr `eps`. */
  layerNormStats: 'GeolipLayerNormStats',
  /** `dx` of layer norm. Inputs `dy [N, D]`, `x [N, D]`, `gamma [D]`, `stats [N, 2]`. */
  layerNormGradX: 'GeolipLayerNormGradX',
  /** `dgamma = Σ_rows dy·x̂`. Inputs `dy [N, D]`, `x [N, D]`, `stats [N, 2]` → `[D]`. */
  layerNormGradGamma: 'GeolipLayerNormGradGamma',
  /** `y = gelu(x + bias)`. Inputs `x [N, D]`, `bias [D]`; attr `approximate` (`'none'` | `'tanh'`). */
  biasGelu: 'GeolipBiasGelu',
  /** `dx = dy·gelu′(x + bias)`. Inputs `dy [N, D]`, `x [N, D]`, `bias [D]`; attr `approximate`. */
  biasGeluGrad: 'GeolipBiasGeluGrad',
  /** Adam moment update `β·m + (1 − β)·g` (or `g²` with `square`). Inputs `m`, `g`; attrs `beta`, `square`. */
  adamMoment: 'GeolipAdamMoment',
  /**
   * AdamW parameter update from the new moments:
   * `p·decay − stepSize · m / (√v / sqrtBc2 + eps)`. Inputs `p`, `m`, `v`; attrs `stepSize`, `sqrtBc2`,
   * `eps`, `decay`.
   */
  adamWParam: 'GeolipAdamWParam',
  /**
   * Squared k-volumes of simplices given by row indices: inputs `points [N, D]` float32, `simplices [S, k+1]` int32
   * (rows of `points`) → V² `[S]` = det(E Eᵀ)/(k!)², E the edges pᵢ − p₀ (the Gram form of the Cayley–Menger
   * determinant). A row index outside [0, N) or a non-finite Gram entry gives NaN.
   */
  simplexVolumeSquared: 'GeolipSimplexVolumeSquared',
  /**
   * Multi-head scaled dot-product attention, `ctx = softmax(q·kᵀ/√h + masks)·v` per head, on the projected
   * layout (no head split). Inputs `q [B, Lq, d]`, `k [B, Lk, d]`, `v [B, Lk, dv]`, optional
   * `keyPaddingMask [B, Lk]` (float32, 1 keep, 0 masked) and `attnMask [Lq, Lk]` or `[B, Lq, Lk]` (additive,
   * clamped at −1e9); attr `heads`. → `[B, Lq, dv]`.
   */
  attention: 'GeolipAttention',
  /**
   * Per query row and head `[max, sum, D]` for the attention backward: the max of the masked scores, the sum of
   * `exp(s − max)` (kept apart: with scores near −1e9 their log-sum-exp would lose the sum to rounding) and
   * `D = Σ dy·out` over the head's columns. Inputs `q`, `k`, `dy [B, Lq, dv]`, `out [B, Lq, dv]` and the masks;
   * attr `heads`. → `[B, H, Lq, 3]`.
   */
  attentionStats: 'GeolipAttentionStats',
  /** `dq` of attention. Inputs `q`, `k`, `v`, `dy`, `stats` (from `attentionStats`) and the masks. → `[B, Lq, d]`. */
  attentionGradQ: 'GeolipAttentionGradQ',
  /** `dk` of attention; inputs as `attentionGradQ`. → `[B, Lk, d]`. */
  attentionGradK: 'GeolipAttentionGradK',
  /** `dv` of attention. Inputs `q`, `k`, `dy`, `stats` and the masks. → `[B, Lk, dv]`. */
  attentionGradV: 'GeolipAttentionGradV',
  /**
   * Sum of squares over many tensors, `Σ_tensors Σ x²` → a `[]` float32 scalar. Inputs: an array of float32
   * tensors of any shapes (as tfjs's `AddN`), none of size 0. Not differentiable (no gradient is registered).
   */
  sumSquares: 'GeolipSumSquares',
} as const;

export type GeolipKernelName = (typeof KERNELS)[keyof typeof KERNELS];

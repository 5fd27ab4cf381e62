import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, normalize } from '@geolip/geometry';

import { type AnchorSource, checkAnchorSource, checkMatrix, checkNumber, rawAnchors } from './diagnostics/internal.js';

/** Options of {@link geometricAutograd}. */
export interface GeometricAutogradOptions {
  /**
   * `tang`: how much of the radial gradient component ⟨g, e⟩·e to remove. Default 1 (the full
   * projection onto the tangent space of the sphere at e). Finite, ≥ 0. Cards: 1.0 (dual-stream),
   * 0.5 (run 7), 0.01 (ViT soup and student).
   */
  tangential?: number;
  /**
   * `sep`: how much of the positive gradient component along the nearest anchor to remove.
   * Default 0.1. Finite, ≥ 0; 0 skips the anchor step (and the anchors are then never read).
   * Cards: 0.1 (dual-stream), 1.0 (ViT soup and student).
   */
  separation?: number;
  /**
   * Which direction the separation step removes. Two readings of spec §7 are plausible:
   * - `'anchor'` (default, the literal formula of the spec and of geolip-core):
   *   g₂ = g₁ − sep·max(⟨g₁, n⟩, 0)·n. n is not tangent at e, so with sep > 0 the result regains a radial
   *   component.
   * - `'tangent'`: the same step along n's tangent part u = (n − ⟨n, e⟩e)/‖n − ⟨n, e⟩e‖, i.e.
   *   g₂ = g₁ − sep·max(⟨g₁, u⟩, 0)·u. With tang = 1 and sep = 1 the gradient then has both no radial
   *   component (⟨g₂, e⟩ = 0) and no positive component toward the nearest anchor (⟨g₂, n⟩ ≤ 0): the
   *   "tangential, pushed away from the nearest anchor" behaviour the cards describe.
   */
  separationDirection?: 'anchor' | 'tangent';
}

/**
 * Geometric autograd (spec §7, geolip-core `GeometricAutograd`): the identity in the forward pass,
 * and a reshaped gradient in the backward pass, placed right after the L2-normalization of an
 * embedding and before any loss reads it.
 *
 *     forward:   y = e
 *     backward:  g  = ∂L/∂y                                   (incoming gradient, [B, D])
 *                g₁ = g − tang · ⟨g, e⟩ · e                    (e as is, not renormalized)
 *                if sep > 0:
 *                  Â = rownorm(anchors)                        (no gradient reaches the anchors)
 *                  n = Â[argmax_a ⟨e, Â_a⟩]                    (nearest anchor per row)
 *                  t = ⟨g₁, n⟩
 *                  g₂ = g₁ − sep · max(t, 0) · n
 *                ∂L/∂e = g₂   (g₁ when sep = 0)
 *
 * With tang = 1 and unit e, g₁ has no radial component (⟨g₁, e⟩ = 0). With sep = 1 the gradient
 * keeps no positive component along the nearest anchor (⟨g₂, n⟩ = min(t, 0) ≤ 0), so a descent
 * step −lr·g₂ never moves e further toward that anchor than g₁ would have.
 *
 * @param embedding - `[B, D]` embeddings, normally unit rows (`normalize(h)`); float32.
 * @param anchors - `[A, D]` anchors (raw or unit rows; normalized here), or an object with
 *   `normalizedAnchors(): tf.Tensor2D` such as a Constellation. A ≥ 1.
 * @param options - `tangential` (default 1) and `separation` (default 0.1).
 * @returns `[B, D]` a new tensor equal to `embedding` bit for bit, whose gradient is g₂.
 *
 * @throws {ShapeError} If `embedding` is not rank 2, or the anchors are not `[A, D]` with the
 *   embedding's D (the error names `'anchors'`).
 * @throws {InvalidArgumentError} If `tangential` or `separation` is not a finite number ≥ 0, or
 *   `anchors` is neither a tensor nor an object with `normalizedAnchors()`, or a tensor is not float32.
 *
 * @remarks
 * - **Only `embedding` gets a gradient.** The anchors are not an input of the custom-gradient op:
 *   `tf.variableGrads` returns no entry for an anchor variable that is used only here, and
 *   `tf.grads` with respect to such anchors finds no path. `tang` and `sep` are plain numbers.
 * - The formula is implemented literally (spec §7, "sign semantics"). In particular the separation
 *   step subtracts a multiple of n, which is not tangent to the sphere at e: with tang = 1 and
 *   sep > 0, ⟨g₂, e⟩ = −sep·max(t, 0)·⟨n, e⟩, which is not 0 in general (as in the Python code).
 * - The forward pass computes nothing: it returns a copy of `embedding` (sharing its data) and, while
 *   a gradient tape records, keeps `embedding` and the raw anchors for the backward pass
 *   (`normalizedAnchors()` is called once, in the forward pass, and only when sep > 0). The argmax,
 *   the one-hot selection of n (a matmul, not `tf.gather`) and the projections all run in the
 *   backward pass, on the active backend: O(B·A·D) for the nearest anchor, O(B·D) for the rest.
 * - tang = 0 and sep = 0 return the incoming gradient unchanged (a copy of it, bit for bit).
 * - argmax ties go to the lowest anchor index on the cpu backend (other backends may differ). A zero
 *   anchor row stays zero after normalization and is never strictly nearest unless all cosines are ≤ 0.
 * - NaN or ±Inf in a row of `embedding` or of the incoming gradient makes that row's gradient NaN
 *   (when tang > 0) and leaves the other rows alone; nothing is read back, nothing throws.
 * - Differentiating twice (a gradient of this gradient) is not supported: the argmax has no gradient.
 *
 * @example
 * const e = tf.tensor2d([[1, 0, 0]]);
 * const anchors = tf.tensor2d([[0.8, 0.6, 0], [0, 0, 1]]);
 * const g = tf.tensor2d([[0.5, 1, -2]]);
 * const grad = tf.grad((x: tf.Tensor) =>
 *   tf.sum(tf.mul(geometricAutograd(x as tf.Tensor2D, anchors, { tangential: 1, separation: 1 }), g)),
 * );
 * grad(e).print(); // ≈ [[-0.48, 0.64, -2]]
 * // g₁ = g − ⟨g, e⟩e = [0, 1, −2]; nearest anchor n = [0.8, 0.6, 0];
 * // t = ⟨g₁, n⟩ = 0.6; g₂ = g₁ − 0.6·n
 *
 * @see spec §7; geolip-core `core/util.py::GeometricAutograd`.
 */
export function geometricAutograd(
  embedding: tf.Tensor2D,
  anchors: AnchorSource,
  options: GeometricAutogradOptions = {},
): tf.Tensor2D {
  const op = 'geometricAutograd';
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(
      op,
      'options',
      `must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const tang = checkNumber(op, 'tangential', options.tangential ?? 1, 0);
  const sep = checkNumber(op, 'separation', options.separation ?? 0.1, 0);
  const direction = options.separationDirection ?? 'anchor';
  if (direction !== 'anchor' && direction !== 'tangent') {
    throw new InvalidArgumentError(
      op,
      'separationDirection',
      `must be 'anchor' or 'tangent', got ${String(direction)}`,
    );
  }
  const [, d] = checkMatrix(op, 'embedding', embedding, ['B', 'D']);
  checkAnchorSource(op, anchors, { dim: d });

  const apply = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const e = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    // The tape is paused here: nothing below is recorded, so no gradient can reach the anchors.
    // Tensors needed later must go through save() (it keeps clones; the rest is disposed).
    save(sep > 0 ? [e, rawAnchors(op, anchors, { dim: d })] : [e]);
    return {
      value: tf.clone(e),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) =>
        reshapeGradient(dy, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D | undefined, tang, sep, direction),
    };
  });
  return apply(embedding) as tf.Tensor2D;
}

/** g ↦ g₂ of spec §7, on the backend. Returns a new tensor; intermediates are disposed. */
function reshapeGradient(
  g: tf.Tensor2D,
  e: tf.Tensor2D,
  anchors: tf.Tensor2D | undefined,
  tang: number,
  sep: number,
  direction: 'anchor' | 'tangent',
): tf.Tensor2D {
  return tf.tidy(() => {
    let g1: tf.Tensor2D = g;
    if (tang !== 0) {
      const radial = tf.sum(tf.mul(g, e), 1, true); // ⟨g, e⟩, [B, 1]
      g1 = tf.sub(g, tf.mul(tf.mul(radial, tang), e));
    }
    if (sep === 0 || anchors === undefined) return g1 === g ? tf.clone(g) : g1;
    const [b] = e.shape;
    const a = anchors.shape[0];
    const unit = normalize(anchors); // Â, [A, D]
    const nearest = tf.argMax(tf.matMul(e, unit, false, true), 1); // [B] int32
    // One-hot rows select n = Â[nearest] by a matmul (gather's gradient is missing on wasm, and the
    // wasm OneHot kernel writes integer bits whatever dtype is asked: build int32, then cast).
    // tf.oneHot needs depth ≥ 2, so A = 1 uses depth 2 and keeps the first column.
    let oneHot = tf.cast(tf.oneHot(nearest, Math.max(a, 2)), 'float32') as tf.Tensor2D;
    if (a === 1) oneHot = tf.slice(oneHot, [0, 0], [b, 1]);
    let n: tf.Tensor2D = tf.matMul(oneHot, unit); // [B, D]
    if (direction === 'tangent') {
      // u = tangent part of n at e, normalized (a zero tangent part, n = ±e, stays zero).
      n = normalize(tf.sub(n, tf.mul(tf.sum(tf.mul(n, e), 1, true), e)));
    }
    const t = tf.sum(tf.mul(g1, n), 1, true); // ⟨g₁, n⟩, [B, 1]
    return tf.sub(g1, tf.mul(tf.mul(tf.relu(t), sep), n));
  });
}

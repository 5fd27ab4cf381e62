/**
 * `AnchorBankModule`: the `AnchorBank` of `@geolip/anchors` seen as a `@geolip/nn` `Module`, so that its
 * variables take part in a parent's `stateDict()`, `loadStateDict()`, `getWeights()` and `paramCount()`.
 *
 * `AnchorBank` is a plain class that owns its `tf.Variable`s (it is not a `Module`, and `Module` only
 * registers parameters it creates itself). This wrapper therefore lends the bank's own variables to the
 * module tree by overriding `namedParameters`: no copies, one source of truth, and the bank's losses
 * (which read those same variables) train what the parent saves.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { AnchorBank } from '@geolip/anchors';
import { Module } from '@geolip/nn';
import type { ParamLayout } from '@geolip/nn';

/**
 * A `Module` around an {@link AnchorBank}. Parameter names are the bank's (`projection.weight` `[D, in]`,
 * `projection.bias` `[D]`, `rotations.{e}` `[D, D]`, `anchors` `[K, D]`, with `feature: 'triangulation'`
 * also `feature_head.weight` `[D, K]`, `feature_head.bias` `[D]`), all already in PyTorch layout.
 */
export class AnchorBankModule extends Module {
  readonly bank: AnchorBank;

  /** Takes ownership of `bank`: {@link AnchorBankModule.dispose} disposes it. */
  constructor(bank: AnchorBank) {
    super();
    this.bank = bank;
  }

  /** The bank's variables under their stable names (none once the bank is disposed). */
  override namedParameters(prefix = ''): [string, tf.Variable, ParamLayout][] {
    if (this.bank.isDisposed) return [];
    return Object.entries(this.bank.getWeights()).map(([name, v]) => [prefix + name, v, 'same']);
  }

  /** Disposes the bank (and with it every variable). Idempotent. */
  override dispose(): void {
    this.bank.dispose();
    super.dispose();
  }
}

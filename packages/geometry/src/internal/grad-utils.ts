import * as tf from '@tensorflow/tfjs-core';

type Forward = (
  input: tf.Tensor,
  save: tf.GradSaveFunc,
) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor };

/** tf.customGrad for a one-input op (its published type takes variadic inputs). */
function unary(forward: Forward): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    x: tf.Tensor,
  ) => tf.Tensor;
}

/**
 * Comparison ops (Greater, Equal, …) have no registered gradient in tfjs, and the tape throws
 * when one lies on a path from x to the loss, even through the condition of `tf.where`. These
 * helpers compute masks and guarded values inside `tf.customGrad`, whose forward pass is not
 * taped, so masks are constants for autodiff.
 */

/** A mask computed from x that autodiff treats as a constant (zero gradient to x). */
export function constantMask(x: tf.Tensor, predicate: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  const f = unary((input: tf.Tensor) => ({
    value: predicate(input),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(input),
  }));
  return f(x);
}

/** x as a constant for autodiff (PyTorch's `detach`): identity forward, zero gradient to x. One new tensor. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return constantMask(x, (t) => tf.clone(t)) as T;
}

/** √v where v > threshold, else 0; gradient dy / (2√v) where v > threshold, else 0. */
export function safeSqrt(v: tf.Tensor, threshold: number): tf.Tensor {
  const f = unary((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const valid = tf.greater(input, threshold);
    const root = tf.where(valid, tf.sqrt(tf.where(valid, input, tf.onesLike(input))), tf.zerosLike(input));
    save([root]);
    return {
      value: root,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const r = saved[0]!;
        const ok = tf.greater(r, 0);
        return tf.where(ok, tf.div(dy, tf.mul(2, tf.where(ok, r, tf.onesLike(r)))), tf.zerosLike(r));
      },
    };
  });
  return f(v);
}

/** x with exact zeros replaced by 1 (for a safe division); gradient passes where x ≠ 0. */
export function nonZero(x: tf.Tensor): tf.Tensor {
  const f = unary((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input]);
    return {
      value: tf.where(tf.equal(input, 0), tf.onesLike(input), input),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.where(tf.equal(saved[0]!, 0), tf.zerosLike(dy), dy),
    };
  });
  return f(x);
}

/** sin(a)/a with its Taylor expansion 1 − a²/6 below 1e-4; gradient (a cos a − sin a)/a², or −a/3 near 0. */
export function sinc(a: tf.Tensor): tf.Tensor {
  const f = unary((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input]);
    const small = tf.less(tf.abs(input), 1e-4);
    const safe = tf.where(small, tf.onesLike(input), input);
    return {
      value: tf.where(small, tf.sub(1, tf.div(tf.square(input), 6)), tf.div(tf.sin(safe), safe)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const x = saved[0]!;
        const near = tf.less(tf.abs(x), 1e-4);
        const s = tf.where(near, tf.onesLike(x), x);
        const far = tf.div(tf.sub(tf.mul(s, tf.cos(s)), tf.sin(s)), tf.square(s));
        return tf.mul(dy, tf.where(near, tf.div(tf.neg(x), 3), far));
      },
    };
  });
  return f(a);
}

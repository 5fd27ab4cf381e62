/**
 * `Einsum` for the wasm backend.
 *
 * What it fixes: tfjs-backend-wasm 4.22 has no `Einsum` kernel, so `tf.einsum` throws on wasm.
 *
 * How: the algorithm of tfjs's cpu kernel (decode the equation, then per step transpose / reshape /
 * broadcast-multiply / sum out one index, with `backend_util`'s helpers), run on the wasm backend's own
 * `Transpose`, `Reshape`, `Multiply` and `Sum` kernels. Like the cpu kernel it materializes the broadcast
 * product, so it is meant for the small contractions models write with einsum, not as a fast matmul
 * (use `tf.matMul` for those).
 *
 * Parity test: `test/kernels-wasm-einsum.test.ts` (matmul, batched attention scores, outer product,
 * dot, transpose, sum over an index), against the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '@geolip/geometry';

import type { KernelRegistration } from '../index.js';
import { asWasmBackend } from './wasm-internals.js';

const OP = 'einsum (wasm)';

/** The registration this module makes. */
const einsumRegistration: KernelRegistration = {
  name: 'Einsum',
  backend: 'wasm',
  description: 'Einsum (missing in tfjs-wasm), composed of the wasm Transpose/Reshape/Multiply/Sum kernels',
};

/** Registers the kernel unless the wasm backend already has one, or lacks the kernels it composes. */
export function registerWasmEinsum(): KernelRegistration | undefined {
  if (tf.findBackendFactory('wasm') === null) return undefined;
  if (tf.getKernel('Einsum', 'wasm') !== undefined) return einsumRegistration;
  for (const k of ['Transpose', 'Reshape', 'Multiply', 'Sum'])
    if (tf.getKernel(k, 'wasm') === undefined) return undefined;
  tf.registerKernel({ kernelName: 'Einsum', backendName: 'wasm', kernelFunc: einsumKernel });
  return einsumRegistration;
}

function kernel(name: string): tf.KernelConfig['kernelFunc'] {
  const k = tf.getKernel(name, 'wasm');
  if (k === undefined) throw new BackendError(OP, `the wasm backend has no '${name}' kernel`);
  return k.kernelFunc;
}

/** The kernel function. */
const einsumKernel: tf.KernelConfig['kernelFunc'] = ({ inputs, backend, attrs }) => {
  const equation = attrs?.['equation'] as string;
  const wasm = asWasmBackend(backend, OP);
  const transpose = kernel('Transpose');
  const reshape = kernel('Reshape');
  const multiply = kernel('Multiply');
  const sum = kernel('Sum');
  const tensors = Object.keys(inputs)
    .sort((x, y) => Number(x) - Number(y))
    .map((k) => inputs[k] as tf.TensorInfo);
  const { allDims, summedDims, idDims } = tf.backend_util.decodeEinsumEquation(equation, tensors.length);
  tf.backend_util.checkEinsumDimSizes(allDims.length, idDims, tensors as tf.Tensor[]);
  const { path, steps } = tf.backend_util.getEinsumComputePath(summedDims, idDims);
  let out: tf.TensorInfo | null = null;
  let numDimsRemaining = allDims.length;
  const toDispose: tf.TensorInfo[] = [];
  for (let i = 0; i < steps.length; ++i) {
    for (const idTerm of steps[i]!) {
      const { permutationIndices: perm, expandDims } = tf.backend_util.getEinsumPermutation(
        numDimsRemaining,
        idDims[idTerm]!,
      );
      let x: tf.TensorInfo;
      if (tf.backend_util.isIdentityPermutation(perm)) {
        x = tensors[idTerm]!;
      } else {
        x = transpose({ inputs: { x: tensors[idTerm]! }, backend, attrs: { perm } }) as tf.TensorInfo;
        toDispose.push(x);
      }
      const targetShape = x.shape.slice();
      for (const d of expandDims) targetShape.splice(d, 0, 1);
      if (!tf.util.arraysEqual(x.shape, targetShape)) {
        x = reshape({ inputs: { x }, backend, attrs: { shape: targetShape } }) as tf.TensorInfo;
        toDispose.push(x);
      }
      if (out === null) {
        out = x;
      } else {
        out = multiply({ inputs: { a: x, b: out }, backend }) as tf.TensorInfo;
        toDispose.push(out);
      }
    }
    if (i < steps.length - 1) {
      if (path[i]! >= 0) {
        out = sum({
          inputs: { x: out! },
          backend,
          attrs: { axis: path[i]! - (allDims.length - numDimsRemaining), keepDims: false },
        }) as tf.TensorInfo;
        toDispose.push(out);
      }
      numDimsRemaining--;
    }
  }
  for (const t of toDispose) if (t !== out) wasm.disposeData(t.dataId);
  if (out === null) throw new BackendError(OP, `equation '${equation}' produced no output`);
  return out;
};

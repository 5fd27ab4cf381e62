// Shared by parity-conv.test.ts (PyTorch fixtures) and parity-conv-numpy.test.ts (numpy fixtures):
// builds the block a fixture case describes and splits the case's tensors.
import { existsSync, readFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { entryToTensor, readSafetensors } from '@geolip/io';
import type { SafetensorsContents } from '@geolip/io';

import {
  ClassEmbedding,
  Conv2d,
  ConvResBlock,
  Downsample,
  GroupNorm,
  TimeEmbedding,
  Upsample,
  toTorchLayout,
} from '../src/index.js';
import type { CondMode, Module } from '../src/index.js';

/** One block config as written into `__metadata__.config` by the generators. */
export type CaseConfig =
  | { kind: 'conv2d'; in: number; out: number; kernel: number; stride: number; padding: number | 'same'; bias: boolean }
  | { kind: 'groupnorm'; groups: number; channels: number }
  | { kind: 'resblock'; in: number; out: number; groups: number; condDim?: number; condMode?: CondMode }
  | { kind: 'downsample' | 'upsample'; channels: number }
  | { kind: 'time'; dim: number; hidden: number; timeScale: number; maxPeriod: number }
  | { kind: 'class'; numClasses: number; dim: number; nullClass: boolean };

export interface FixtureCase {
  name: string;
  config: CaseConfig;
  /** `<case>/param/<name>` → tensor (PyTorch layout). */
  params: Record<string, tf.Tensor>;
  /** `<case>/input/<arg>` → tensor (images NHWC). */
  inputs: Record<string, tf.Tensor>;
  output: tf.Tensor;
  /** Optional (PyTorch fixtures): `<case>/probe`, and `<case>/grad/input/<arg>`, `<case>/grad/param/<name>`. */
  probe?: tf.Tensor;
  gradInputs: Record<string, tf.Tensor>;
  gradParams: Record<string, tf.Tensor>;
  /**
   * numpy fixtures: finite-difference gradients of sum(output · probe) at sampled flat indices, keyed
   * `input/<arg>` or `param/<name>` (indices in the stored layout: NHWC images, PyTorch params).
   */
  fdGrads: Record<string, { index: Int32Array; value: Float64Array }>;
}

/** A fixture file read into memory (no tensors yet: the backend is chosen in `beforeAll`). */
export interface ConvFixtureFile {
  contents: SafetensorsContents;
  /** Case name → config, in file order. */
  configs: [string, CaseConfig][];
  metadata: Record<string, string>;
}

/** Reads a fixture file, or returns `null` if it is absent. Creates no tensors. */
export function readConvFixture(url: URL): ConvFixtureFile | null {
  if (!existsSync(url)) return null;
  const contents = readSafetensors(new Uint8Array(readFileSync(url)), { copy: true });
  const config = JSON.parse(contents.metadata.config ?? '{}') as Record<string, CaseConfig>;
  return { contents, configs: Object.entries(config), metadata: contents.metadata };
}

/** One case's tensors (new; dispose with {@link disposeCase}). */
export function loadCase(file: ConvFixtureFile, name: string): FixtureCase {
  const cfg = file.configs.find(([n]) => n === name)?.[1];
  if (cfg === undefined) throw new Error(`fixture has no case '${name}'`);
  const c: FixtureCase = {
    name,
    config: cfg,
    params: {},
    inputs: {},
    output: undefined as unknown as tf.Tensor,
    gradInputs: {},
    gradParams: {},
    fdGrads: {},
  };
  for (const [key, entry] of Object.entries(file.contents.tensors)) {
    if (!key.startsWith(`${name}/`)) continue;
    const rest = key.slice(name.length + 1);
    const fd = /^fdgrad\/(.+)\/(index|value)$/.exec(rest);
    if (fd) {
      const slot = (c.fdGrads[fd[1]!] ??= { index: new Int32Array(0), value: new Float64Array(0) });
      if (fd[2] === 'index') slot.index = Int32Array.from(entry.data as Int32Array);
      else slot.value = Float64Array.from(entry.data as Float64Array);
      continue;
    }
    const t = entryToTensor(entry);
    if (rest === 'output') c.output = t;
    else if (rest === 'probe') c.probe = t;
    else if (rest.startsWith('param/')) c.params[rest.slice(6)] = t;
    else if (rest.startsWith('input/')) c.inputs[rest.slice(6)] = t;
    else if (rest.startsWith('grad/input/')) c.gradInputs[rest.slice(11)] = t;
    else if (rest.startsWith('grad/param/')) c.gradParams[rest.slice(11)] = t;
    else t.dispose();
  }
  if (c.output === undefined) throw new Error(`fixture case '${name}' has no output`);
  return c;
}

export function disposeCase(c: FixtureCase): void {
  tf.dispose([
    c.output,
    ...(c.probe ? [c.probe] : []),
    ...Object.values(c.params),
    ...Object.values(c.inputs),
    ...Object.values(c.gradInputs),
    ...Object.values(c.gradParams),
  ]);
}

/** The block a case describes (random init; load the case's params afterwards). */
export function buildBlock(cfg: CaseConfig): Module {
  switch (cfg.kind) {
    case 'conv2d':
      return new Conv2d(cfg.in, cfg.out, cfg.kernel, { stride: cfg.stride, padding: cfg.padding, bias: cfg.bias });
    case 'groupnorm':
      return new GroupNorm(cfg.groups, cfg.channels);
    case 'resblock':
      return new ConvResBlock(cfg.in, cfg.out, { groups: cfg.groups, condDim: cfg.condDim, condMode: cfg.condMode });
    case 'downsample':
      return new Downsample(cfg.channels);
    case 'upsample':
      return new Upsample(cfg.channels);
    case 'time':
      return new TimeEmbedding(cfg.dim, cfg.hidden, { timeScale: cfg.timeScale, maxPeriod: cfg.maxPeriod });
    case 'class':
      return new ClassEmbedding(cfg.numClasses, cfg.dim, { nullClass: cfg.nullClass });
  }
}

/** Runs a block on a case's inputs (by the argument names the generators use). */
export function runBlock(block: Module, inputs: Record<string, tf.Tensor>): tf.Tensor {
  if (block instanceof ConvResBlock)
    return block.forward(inputs.x as tf.Tensor4D, inputs.cond as tf.Tensor2D | undefined);
  if (block instanceof TimeEmbedding) return block.forward(inputs.t as tf.Tensor1D);
  if (block instanceof ClassEmbedding) return block.forward(inputs.labels as tf.Tensor1D);
  if (block instanceof GroupNorm) return block.forward(inputs.x!);
  return (block as Conv2d | Downsample | Upsample).forward(inputs.x as tf.Tensor4D);
}

/**
 * Gradients of L = sum(block(inputs) · probe) with respect to every float input (in the input's
 * layout) and every parameter (converted to PyTorch layout, keyed by its PyTorch name). New tensors.
 */
export function blockGrads(
  block: Module,
  inputs: Record<string, tf.Tensor>,
  probe: tf.Tensor,
): { inputs: Record<string, tf.Tensor>; params: Record<string, tf.Tensor> } {
  const inputVars: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(inputs)) if (v.dtype === 'float32') inputVars[k] = tf.variable(v, true);
  const params = block.namedParameters();
  try {
    const varList = [...Object.values(inputVars), ...params.map(([, v]) => v)];
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(runBlock(block, { ...inputs, ...inputVars }), probe)) as tf.Scalar,
      varList,
    );
    value.dispose();
    const out = { inputs: {} as Record<string, tf.Tensor>, params: {} as Record<string, tf.Tensor> };
    for (const [k, v] of Object.entries(inputVars)) out.inputs[k] = grads[v.name]!;
    for (const [name, v, layout] of params) {
      out.params[name] = toTorchLayout(grads[v.name]!, layout);
      grads[v.name]!.dispose();
    }
    return out;
  } finally {
    tf.dispose(Object.values(inputVars));
  }
}

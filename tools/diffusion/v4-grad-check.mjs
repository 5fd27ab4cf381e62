#!/usr/bin/env node
// One training-step gradient of the v4 readings' model (tools/diffusion/v4-readings.sh widths, batch 32, seeded data
// and noise) on two backends, compared parameter by parameter (L1 norm of each gradient): issue 23 found that
// `decoderXt: 'pyramid'` gets a wrong `gen_out.weight` gradient on wasm (every other gradient agrees with cpu).
//
//   node tools/diffusion/v4-grad-check.mjs [--xt pyramid] [--skips] [--backends wasm,cpu] [--out <file.json>]
//
// Runs itself once per backend (a child process each: one backend per process) and writes the comparison.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    xt: { type: 'string', default: 'pyramid' },
    skips: { type: 'boolean', default: false },
    backends: { type: 'string', default: 'wasm,cpu' },
    out: { type: 'string' },
    child: { type: 'boolean', default: false },
  },
});

if (values.child) {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend } = await import('@geolip/nn/backend');
  const { GlfmModel, glfmPreset, flowMatchingLoss, seededNormal } = await import('@geolip/diffusion');
  const { createRng } = await import('@geolip/geometry');
  await initBackend({ log: () => {} });
  const bs = 32;
  const model = new GlfmModel(
    glfmPreset('v4', {
      imageSize: 28,
      levelChannels: [16, 32],
      bottleneckChannels: 64,
      groups: 8,
      condDim: 64,
      generatorDim: 256,
      decoderSkips: values.skips,
      decoderXt: values.xt,
    }),
  );
  const x0 = tf.clipByValue(seededNormal([bs, 28, 28, 1], createRng(5)), -1, 1);
  const labels = tf.tensor1d(
    Array.from({ length: bs }, (_, i) => i % 10),
    'int32',
  );
  const weights = model.getWeights();
  const names = Object.keys(weights);
  const vars = Object.values(weights);
  const { value, grads } = tf.variableGrads(() => flowMatchingLoss(model, x0, labels, { rng: createRng(1) }), vars);
  const l1 = {};
  // Asynchronous reads: webgpu in Node cannot read synchronously.
  for (const [i, v] of vars.entries()) {
    const d = await grads[v.name].data();
    l1[names[i]] = d.reduce((a, c) => a + Math.abs(c), 0);
  }
  const loss = (await value.data())[0];
  process.stdout.write(JSON.stringify({ backend: tf.getBackend(), loss, l1 }));
} else {
  const self = fileURLToPath(import.meta.url);
  const runs = values.backends.split(',').map((b) =>
    JSON.parse(
      execFileSync(process.execPath, [self, '--child', '--xt', values.xt, ...(values.skips ? ['--skips'] : [])], {
        env: { ...process.env, GEOLIP_BACKEND: b },
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 1 << 26,
      }).toString(),
    ),
  );
  const [a, b] = runs;
  const differ = Object.keys(a.l1)
    .map((k) => ({
      name: k,
      [a.backend]: a.l1[k],
      [b.backend]: b.l1[k],
      rel: Math.abs(a.l1[k] - b.l1[k]) / Math.abs(b.l1[k]),
    }))
    .filter((r) => !(r.rel <= 1e-3));
  const result = {
    decoderXt: values.xt,
    decoderSkips: values.skips,
    loss: { [a.backend]: a.loss, [b.backend]: b.loss },
    parameters: Object.keys(a.l1).length,
    differ,
    command:
      `node tools/diffusion/v4-grad-check.mjs --xt ${values.xt}${values.skips ? ' --skips' : ''} ` +
      `--backends ${values.backends}`,
  };
  const text = JSON.stringify(result, null, 1) + '\n';
  if (values.out) {
    const { writeFileAtomic } = await import('@geolip/io/node');
    await writeFileAtomic(resolve(values.out), text);
  }
  process.stdout.write(text);
}

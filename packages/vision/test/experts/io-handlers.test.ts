import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FormatError } from '@geolip/geometry';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bundledModelIOHandler, fileSystemIOHandler } from '../../src/experts/index.js';
import { countManifestParams } from '../../src/experts/io-handlers.js';

let dir: string;
let model: tfl.LayersModel;
let artifacts: tf.io.ModelArtifacts;
let x: tf.Tensor2D;

beforeAll(async () => {
  x = tf.tensor2d([
    [0.5, -1, 2],
    [3, 0.25, -0.75],
  ]);
  dir = mkdtempSync(join(tmpdir(), 'geolip-io-handlers-'));
  model = tfl.sequential({
    layers: [
      tfl.layers.dense({
        inputShape: [3],
        units: 4,
        activation: 'tanh',
        kernelInitializer: 'glorotNormal',
        biasInitializer: 'ones',
      }),
      tfl.layers.dense({ units: 2 }),
    ],
  });
  await model.save({
    save: async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
  });
  const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
  const half = Math.floor(weights.length / 2);
  // Two shards, to check that they are concatenated in manifest order.
  const json = {
    format: 'layers-model',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['w1.bin', 'w2.bin'], weights: artifacts.weightSpecs }],
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'w1.bin'), weights.subarray(0, half));
  writeFileSync(join(dir, 'w2.bin'), weights.subarray(half));
  // The nsfwjs layout: JavaScript modules exporting the model object and each shard in base64.
  const bundle = join(dir, 'bundle');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(bundle);
  const bundled = {
    ...json,
    weightsManifest: [{ paths: ['group1-shard1of2', 'group1-shard2of2'], weights: artifacts.weightSpecs }],
  };
  writeFileSync(
    join(bundle, 'model.min.js'),
    `!function(e){module.exports=e()}(function(){return ${JSON.stringify(bundled)}});`,
  );
  writeFileSync(
    join(bundle, 'group1-shard1of2.min.js'),
    `module.exports=${JSON.stringify(Buffer.from(weights.subarray(0, half)).toString('base64'))};`,
  );
  writeFileSync(
    join(bundle, 'group1-shard2of2.min.js'),
    `module.exports=${JSON.stringify(Buffer.from(weights.subarray(half)).toString('base64'))};`,
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  model.dispose();
  x.dispose();
});

async function expectSameModel(loaded: tfl.LayersModel): Promise<void> {
  const a = model.predict(x) as tf.Tensor;
  const b = loaded.predict(x) as tf.Tensor;
  expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
  tf.dispose([a, b]);
  loaded.dispose();
}

describe('fileSystemIOHandler', () => {
  it('loads a layers model.json and its shards from disk, giving the same outputs', async () => {
    await expectSameModel(await tfl.loadLayersModel(fileSystemIOHandler(join(dir, 'model.json'))));
  });

  it('names the file when the JSON is not a model, is missing, or a shard is missing', async () => {
    writeFileSync(join(dir, 'not-a-model.json'), '{"hello": 1}');
    writeFileSync(
      join(dir, 'no-shard.json'),
      JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['gone.bin'], weights: [] }] }),
    );
    const load = (f: string) => fileSystemIOHandler(join(dir, f)).load!();
    await expect(load('not-a-model.json')).rejects.toThrow(FormatError);
    await expect(load('not-a-model.json')).rejects.toThrow(/not-a-model\.json: not a tfjs model\.json/);
    await expect(load('absent.json')).rejects.toThrow(/absent\.json: cannot read the model \(ENOENT/);
    await expect(load('no-shard.json')).rejects.toThrow(/weight shard .*gone\.bin cannot be read/);
  });
});

describe('bundledModelIOHandler', () => {
  it('loads the nsfwjs bundle layout (model.min.js + base64 shards), giving the same outputs', async () => {
    await expectSameModel(await tfl.loadLayersModel(bundledModelIOHandler(join(dir, 'bundle'))));
  });

  it('runs the bundles without require or process, and names a bad bundle', async () => {
    const bad = join(dir, 'bad');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(bad);
    writeFileSync(join(bad, 'model.min.js'), 'module.exports = require("node:fs");');
    await expect(bundledModelIOHandler(bad).load!()).rejects.toThrow(
      /bad[\\/]model\.min\.js is not a loadable model bundle \(require is not defined\)/,
    );
    writeFileSync(join(bad, 'model.min.js'), 'module.exports = typeof process;');
    await expect(bundledModelIOHandler(bad).load!()).rejects.toThrow(/not a tfjs model\.json/);
    writeFileSync(
      join(bad, 'model.min.js'),
      `module.exports = ${JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['s'], weights: [] }] })};`,
    );
    writeFileSync(join(bad, 's.min.js'), 'module.exports = {};');
    await expect(bundledModelIOHandler(bad).load!()).rejects.toThrow(/s\.min\.js does not export a base64 string/);
    await expect(bundledModelIOHandler(join(dir, 'nowhere')).load!()).rejects.toThrow(
      /nowhere[\\/]model\.min\.js cannot be read/,
    );
  });
});

it('countManifestParams sums the weight shapes', () => {
  expect(countManifestParams([{ paths: [], weights: artifacts.weightSpecs! }])).toBe(model.countParams());
  expect(model.countParams()).toBe(3 * 4 + 4 + 4 * 2 + 2);
});

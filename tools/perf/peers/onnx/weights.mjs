// CaptionBERT-shaped encoder weights: names and shapes in PyTorch layout ([out, in] for Linear),
// seeded random initialisation, and a small safetensors reader/writer (F32; F16/BF16 read as F32).
import { closeSync, fstatSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';

export const ENCODER = { vocab: 30522, maxLen: 8192, d: 384, heads: 6, ffn: 1536, layers: 6, out: 768, lnEps: 1e-5 };
export const EXPECTED_PARAMS = 25_958_016;

/** [name, shape] in the order of the PyTorch module's state_dict. */
export function encoderSpec(cfg = ENCODER) {
  const { vocab, maxLen, d, ffn, layers, out } = cfg;
  const spec = [
    ['token_emb.weight', [vocab, d]],
    ['pos_emb.weight', [maxLen, d]],
  ];
  for (let i = 0; i < layers; i++) {
    const p = `layers.${i}.`;
    spec.push(
      [`${p}self_attn.in_proj_weight`, [3 * d, d]],
      [`${p}self_attn.in_proj_bias`, [3 * d]],
      [`${p}self_attn.out_proj.weight`, [d, d]],
      [`${p}self_attn.out_proj.bias`, [d]],
      [`${p}linear1.weight`, [ffn, d]],
      [`${p}linear1.bias`, [ffn]],
      [`${p}linear2.weight`, [d, ffn]],
      [`${p}linear2.bias`, [d]],
      [`${p}norm1.weight`, [d]],
      [`${p}norm1.bias`, [d]],
      [`${p}norm2.weight`, [d]],
      [`${p}norm2.bias`, [d]],
    );
  }
  spec.push(
    ['norm.weight', [d]],
    ['norm.bias', [d]],
    ['head.0.weight', [d, d]],
    ['head.0.bias', [d]],
    ['head.2.weight', [d]],
    ['head.2.bias', [d]],
    ['head.3.weight', [out, d]],
    ['head.3.bias', [out]],
  );
  return spec;
}

export const numel = (shape) => shape.reduce((a, b) => a * b, 1);

// ---- seeded PRNG: one independent stream per tensor (seed, name), so order does not matter ----
function hash32(str, seed) {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fillUniform(arr, rand, lo, hi) {
  for (let i = 0; i < arr.length; i++) arr[i] = lo + (hi - lo) * rand();
}

function fillNormal(arr, rand, mean, std) {
  for (let i = 0; i < arr.length; i += 2) {
    const u1 = rand() || 1e-12;
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    arr[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < arr.length) arr[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
}

/**
 * Seeded random weights. Embeddings N(0, 0.02²) (BERT-style); Linear weights and biases
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's Linear default); LayerNorm weight 1 + U(-0.1, 0.1) and
 * bias U(-0.1, 0.1) (not the 1/0 default, so a parity check exercises the affine part).
 */
export function initWeights(seed = 0, cfg = ENCODER) {
  const w = new Map();
  for (const [name, shape] of encoderSpec(cfg)) {
    const rand = mulberry32(hash32(name, seed));
    const a = new Float32Array(numel(shape));
    if (name.endsWith('_emb.weight')) fillNormal(a, rand, 0, 0.02);
    else if (/norm\d?\.(weight|bias)$/.test(name) || /^head\.2\./.test(name)) {
      if (name.endsWith('weight')) fillUniform(a, rand, 0.9, 1.1);
      else fillUniform(a, rand, -0.1, 0.1);
    } else {
      // Linear weight [out, in] or its bias [out]: fan_in is the last dim of the matching weight.
      const fanIn = name.endsWith('bias') ? fanInOf(name, cfg) : shape[shape.length - 1];
      const b = 1 / Math.sqrt(fanIn);
      fillUniform(a, rand, -b, b);
    }
    w.set(name, { shape, data: a });
  }
  return w;
}

function fanInOf(biasName, cfg) {
  if (biasName.endsWith('linear2.bias')) return cfg.ffn;
  return cfg.d;
}

export function countParams(w) {
  let n = 0;
  for (const { data } of w.values()) n += data.length;
  return n;
}

/** Checks that the weights have every name of the spec with the right shape. */
export function checkWeights(w, cfg = ENCODER) {
  for (const [name, shape] of encoderSpec(cfg)) {
    const t = w.get(name);
    if (!t) throw new Error(`weights: missing ${name}`);
    if (t.shape.join(',') !== shape.join(','))
      throw new Error(`weights: ${name} has shape [${t.shape}], expected [${shape}]`);
  }
}

// ---- safetensors ----
function f16ToF32(h) {
  const s = (h & 0x8000) >> 15;
  const e = (h & 0x7c00) >> 10;
  const m = h & 0x03ff;
  let v;
  if (e === 0) v = m * 2 ** -24;
  else if (e === 31) v = m ? NaN : Infinity;
  else v = (1 + m / 1024) * 2 ** (e - 15);
  return s ? -v : v;
}

/** Reads a safetensors file into Map name -> { shape, data: Float32Array } (F32, F16, BF16, F64 accepted). */
export function readSafetensors(path) {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const n = Number(head.readBigUInt64LE(0));
    const hbuf = Buffer.alloc(n);
    readSync(fd, hbuf, 0, n, 8);
    const header = JSON.parse(hbuf.toString('utf8'));
    const base = 8 + n;
    const out = new Map();
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const [b, e] = info.data_offsets;
      if (base + e > size) throw new Error(`safetensors: ${name} runs past the end of ${path}`);
      const raw = Buffer.alloc(e - b);
      readSync(fd, raw, 0, e - b, base + b);
      const count = numel(info.shape);
      const data = new Float32Array(count);
      if (info.dtype === 'F32') data.set(new Float32Array(raw.buffer, raw.byteOffset, count));
      else if (info.dtype === 'F64')
        data.set(new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 8 * count)));
      else if (info.dtype === 'F16') for (let i = 0; i < count; i++) data[i] = f16ToF32(raw.readUInt16LE(2 * i));
      else if (info.dtype === 'BF16') {
        const u = new Uint32Array(data.buffer);
        for (let i = 0; i < count; i++) u[i] = raw.readUInt16LE(2 * i) << 16;
      } else throw new Error(`safetensors: ${name} has dtype ${info.dtype}; only F32/F64/F16/BF16 are read`);
      out.set(name, { shape: info.shape, data });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Writes Map name -> { shape, data: Float32Array } as F32 safetensors, atomically (tmp + rename). */
export function writeSafetensors(path, weights, metadata = {}) {
  const header = {};
  let off = 0;
  for (const [name, { shape, data }] of weights) {
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + data.byteLength] };
    off += data.byteLength;
  }
  if (Object.keys(metadata).length)
    header.__metadata__ = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)]));
  let h = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (h.length % 8)) % 8;
  h = Buffer.concat([h, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, len);
    writeFileSync(fd, h);
    for (const { data } of weights.values())
      writeFileSync(fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

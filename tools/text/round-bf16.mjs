// Usage: node tools/text/round-bf16.mjs <in.safetensors> <out.safetensors>: every weight rounded to bfloat16 and stored
// as F32, with the same metadata, to measure how sensitive a shipped fp16 student is to weight precision.
// Sensitivity of the shipped fp16 student to weight precision: round every weight to bfloat16 (8-bit mantissa,
// coarser than fp16's 11) and write a copy to bench beside the original.
import { readFileSync, writeFileSync } from 'node:fs';
import { bfloat16BitsToFloat32, float32ToBfloat16Bits, readSafetensors, toFloat32, writeSafetensors } from '@geolip/io';
const { tensors, metadata } = readSafetensors(readFileSync(process.argv[2]), { copy: true });
const out = {};
for (const [k, e] of Object.entries(tensors))
  out[k] = {
    dtype: 'F32',
    shape: e.shape,
    data: Float32Array.from(toFloat32(e), (v) => bfloat16BitsToFloat32(float32ToBfloat16Bits(v))),
  };
writeFileSync(process.argv[3], writeSafetensors(out, metadata));

// Usage: node tools/text/ship-finetune.mjs <finetuned.safetensors> <base.safetensors> <out.safetensors>
// The package's weights file from a fine-tuned text model (`geolip-train run text-cosent` writes cosent.safetensors in
// F32): every F32 tensor stored as F16 (the shipped student's precision; results/text/cosent-f16-bench.json measured
// that the rounding leaves the scores unchanged), the model metadata written once more by writeModelMetadata with the
// fine-tune's type, config and extras (recipe, base, step, valSpearman, tokenizer, maxLength), and the base file's
// training record added as extra.base (its sha256, recipe, experts, steps, fidelity); extra.experts carries the
// teachers the weights were distilled from. The base's untrainedTokenRowsZeroed holds only if no zero row of the base
// moved in the fine-tune (frozen embeddings): the tool checks and says so.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  float32ToFloat16Bits,
  readModelMetadata,
  readSafetensors,
  toFloat32,
  writeModelMetadata,
  writeSafetensors,
} from '@geolip/io';
import { writeFileAtomic } from '@geolip/io/node';

const [tunedPath, basePath, outPath] = process.argv.slice(2);
const fail = (message) => {
  console.error(`ship-finetune: ${message}`);
  process.exit(message.startsWith('usage') ? 2 : 1);
};
if (!tunedPath || !basePath || !outPath)
  fail('usage: node tools/text/ship-finetune.mjs <finetuned.safetensors> <base.safetensors> <out.safetensors>');
const baseBytes = readFileSync(basePath);
const tuned = readSafetensors(readFileSync(tunedPath), { copy: true });
const base = readSafetensors(baseBytes, { copy: true });
const tm = readModelMetadata(tuned.metadata);
const bm = readModelMetadata(base.metadata);
if (tm.type !== bm.type) fail(`${tunedPath} is a ${tm.type}, ${basePath} a ${bm.type}`);
if (JSON.stringify(tm.config) !== JSON.stringify(bm.config))
  fail(`${tunedPath} and ${basePath} declare different configs`);

// A row that is zero in the base must stay zero in the fine-tune for the base's count to hold.
const key = 'encoder.token_emb.weight';
const dModel = tm.config.dModel;
const b = toFloat32(base.tensors[key]);
const t = toFloat32(tuned.tensors[key]);
let zero = 0;
let moved = 0;
for (let r = 0; r < b.length / dModel; r++) {
  if (b.subarray(r * dModel, (r + 1) * dModel).every((v) => v === 0)) {
    zero++;
    if (!t.subarray(r * dModel, (r + 1) * dModel).every((v) => v === 0)) moved++;
  }
}
const { untrainedTokenRowsZeroed, experts, recipe, steps, fidelity } = bm.extra;
const extra = {
  ...tm.extra,
  ...(experts !== undefined ? { experts } : {}),
  ...(moved === 0 && untrainedTokenRowsZeroed !== undefined ? { untrainedTokenRowsZeroed } : {}),
  base: {
    id: tm.extra.base,
    sha256: createHash('sha256').update(baseBytes).digest('hex'),
    recipe,
    experts,
    steps,
    fidelity,
    untrainedTokenRowsZeroed,
  },
};
const out = {};
for (const [name, e] of Object.entries(tuned.tensors)) {
  out[name] =
    e.dtype === 'F32' || e.dtype === 'F16'
      ? { dtype: 'F16', shape: e.shape, data: Uint16Array.from(toFloat32(e), (v) => float32ToFloat16Bits(v)) }
      : e;
}
await writeFileAtomic(outPath, writeSafetensors(out, writeModelMetadata({ type: tm.type, config: tm.config, extra })));
console.log(
  `ship-finetune: ${Object.keys(out).length} tensors as F16 → ${outPath}; ${zero} zero token rows in the base, ` +
    `${moved} of them moved by the fine-tune`,
);

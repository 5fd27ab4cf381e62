// Writes the first N training images and labels of Fashion-MNIST as IDX .gz files (header count rewritten), plus
// the whole test split, so a GPU-machine run can carry the data under the 64 MiB carry limit.
//   node tools/device/fmnist-subset.mjs /usr/share/datasets/fashion-mnist .tmp/fm20k 20000
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const [src, dst, nArg] = process.argv.slice(2);
const n = Number(nArg);
if (!src || !dst || !Number.isInteger(n) || n < 1) {
  console.error('usage: node tools/device/fmnist-subset.mjs <source dir> <out dir> <training images>');
  process.exit(2);
}
mkdirSync(dst, { recursive: true });
function write(name, bytes) {
  writeFileSync(join(dst, `${name}.tmp`), gzipSync(bytes, { level: 9 }));
  renameSync(join(dst, `${name}.tmp`), join(dst, name));
}
for (const [name, rowBytes, header] of [
  ['train-images-idx3-ubyte.gz', 784, 16],
  ['train-labels-idx1-ubyte.gz', 1, 8],
]) {
  const all = gunzipSync(readFileSync(join(src, name)));
  const have = all.readUInt32BE(4);
  if (n > have) throw new Error(`fmnist-subset: ${name} has ${have} rows, fewer than ${n}`);
  const out = Buffer.from(all.subarray(0, header + n * rowBytes));
  out.writeUInt32BE(n, 4);
  write(name, out);
}
for (const name of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'])
  writeFileSync(join(dst, name), readFileSync(join(src, name)));
console.error(`fmnist-subset: ${n} training images and the test split in ${dst}`);

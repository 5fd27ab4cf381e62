#!/usr/bin/env node
// Packs a Node program to run on a Linux x64 GPU machine that has no Node.js and no network.
//
//   node tools/device/pack.mjs <entry.mjs> [more.mjs ...] [--out .device/pack] [--with-wasm] [--with-ort] [--no-node]
//
// With one entry, `run.sh [args]` runs it; with several, `run.sh <entry name without .mjs> [args]` picks one.
//
// The pack (a folder, default .device/pack) holds:
//   app-<name>.mjs.xz  the esbuild bundle of each entry, xz-compressed (run.sh unpacks it next to itself)
//   node.xz            this machine's node binary, stripped and xz-compressed (~22 MB), unpacked once per machine
//   app-<name>.mjs     each program and everything it imports, bundled by esbuild (tfjs, @geolip/*), with a
//                      prelude that sets up WebGPU (Dawn) before the tfjs webgpu backend registers
//   node_modules/webgpu/{package.json,index.js,dist/linux-x64/dawn.node.xz}   Dawn for Node (native, not bundled; run.sh unpacks it)
//   wasm/*.wasm        the tfjs wasm backend's binaries (with --with-wasm)
//   node_modules/onnxruntime-{node,common}/   with --with-ort: onnxruntime-node for linux-x64 (its CPU and WebGPU
//                      providers; libonnxruntime.so.1 xz-compressed, run.sh unpacks it), loaded at run time by
//                      @geolip/text/ort (a native addon, so outside the bundle)
//   debs/*.deb         the Vulkan loader and GL/EGL libraries (Debian amd64 packages, from tools/device/fetch-gl.sh)
//   run.sh             (GEOLIP_NODE_ARGS: extra node flags, e.g. --cpu-prof) unpacks what is needed (once), registers the Vulkan loader, points Vulkan at the NVIDIA
//                      driver, and runs `node app.mjs "$@"`
//
// On the GPU machine (the `device` tool): carry the pack folder and run
//   bash .device/pack/run.sh [program args]
// Results go wherever the program writes them (e.g. $OUT). See docs/gpu-machine.md.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'package.json'));

function usage(message) {
  if (message) console.error(`pack: ${message}`);
  console.error('usage: node tools/device/pack.mjs <entry.mjs> [--out DIR] [--with-wasm] [--with-ort] [--no-node]');
  process.exit(2);
}

const args = process.argv.slice(2);
const entries = [];
let out = join(root, '.device/pack');
let withWasm = false;
let withOrt = false;
let withNode = true;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--out') out = resolve(args[++i] ?? usage('--out needs a folder'));
  else if (a === '--with-wasm') withWasm = true;
  else if (a === '--with-ort') withOrt = true;
  else if (a === '--no-node') withNode = false;
  else if (a === '--help' || a === '-h') usage();
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else entries.push(resolve(a));
}
if (entries.length === 0) usage('no entry program given');
for (const e of entries) if (!existsSync(e)) usage(`entry ${e} does not exist`);
const names = entries.map((e) => basename(e).replace(/\.m?js$/, ''));
if (new Set(names).size !== names.length) usage(`entry names must differ (${names.join(', ')})`);

const tmp = `${out}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });

// 1. The prelude: Dawn first (tfjs-backend-webgpu registers its backend only if navigator.gpu exists
//    when it is imported), then the entry. Imports with literal specifiers are bundled, so there is one
//    tfjs-core; `webgpu` stays external (native addon).
for (const [i, entry] of entries.entries()) {
  const prelude = join(tmp, `prelude-${names[i]}.mjs`);
  writeFileSync(
    prelude,
    `import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
${withWasm ? "import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';\nsetWasmPaths(join(dirname(fileURLToPath(import.meta.url)), 'wasm') + '/');" : ''}
if (process.env.GEOLIP_PACK_NO_WEBGPU !== '1') {
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create((process.env.GEOLIP_DAWN_FLAGS || '').split(/[;\\n]/).filter(Boolean));
    if (globalThis.navigator) Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    console.error('[pack] WebGPU unavailable: ' + String(e && e.message || e).split('\\n')[0]);
  }
}
await import(${JSON.stringify(entry)});
`,
  );

  // 2. Bundle.
  const esbuild = require('esbuild');
  await esbuild.build({
    entryPoints: [prelude],
    outfile: join(tmp, `app-${names[i]}.mjs`),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu', ...(withOrt ? ['onnxruntime-node'] : [])],
    // CommonJS code inside the ESM bundle (tfjs's node builds, emscripten glue) needs require/__dirname/__filename.
    banner: {
      js: [
        "import { createRequire as __geolipCreateRequire } from 'node:module';",
        "import { dirname as __geolipDirname } from 'node:path';",
        "import { fileURLToPath as __geolipFileURLToPath } from 'node:url';",
        'const require = __geolipCreateRequire(import.meta.url);',
        'const __filename = __geolipFileURLToPath(import.meta.url);',
        'const __dirname = __geolipDirname(__filename);',
      ].join(' '),
    },
    logLevel: 'warning',
    // tfjs packages list their side-effect files in package.json; the node entry points are not among them.
    ignoreAnnotations: true,
    nodePaths: [join(root, 'node_modules')],
  });
  rmSync(prelude);
  // xz the bundle (4 MB → 0.5 MB; the carry to the GPU machine is 64 MiB in all); run.sh unpacks it once.
  execFileSync('xz', ['-9', '-T2', join(tmp, `app-${names[i]}.mjs`)]);
}

// 3. Dawn for Node, linux-x64 only.
const webgpuDir = dirname(require.resolve('webgpu/package.json'));
const dawnOut = join(tmp, 'node_modules/webgpu/dist/linux-x64');
mkdirSync(dawnOut, { recursive: true });
for (const f of ['package.json', 'index.js']) copyFileSync(join(webgpuDir, f), join(tmp, 'node_modules/webgpu', f));
// xz-compressed (21 MB → ~6 MB: the carry to the GPU machine is 64 MiB in all); run.sh unpacks it once.
execFileSync('sh', [
  '-c',
  `xz -T2 -6 -c "${join(webgpuDir, 'dist/linux-x64/dawn.node')}" > "${join(dawnOut, 'dawn.node.xz')}"`,
]);

// 4. wasm binaries.
if (withWasm) {
  const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  mkdirSync(join(tmp, 'wasm'));
  for (const f of readdirSync(wasmDir).filter((n) => n.endsWith('.wasm')))
    copyFileSync(join(wasmDir, f), join(tmp, 'wasm', f));
}

// 4b. onnxruntime-node (linux-x64): its JS, the binding and the shared library (xz'd: 44 MB → ~10 MB).
if (withOrt) {
  const ortDir = dirname(require.resolve('onnxruntime-node/package.json'));
  // onnxruntime-common's exports map hides its package.json: its folder from its main file's path
  const commonMain = require.resolve('onnxruntime-common', { paths: [ortDir] });
  const commonDir = commonMain.slice(0, commonMain.lastIndexOf('onnxruntime-common') + 'onnxruntime-common'.length);
  const ortOut = join(tmp, 'node_modules/onnxruntime-node');
  const bin = 'bin/napi-v6/linux/x64';
  mkdirSync(join(ortOut, bin), { recursive: true });
  copyFileSync(join(ortDir, 'package.json'), join(ortOut, 'package.json'));
  execFileSync('cp', ['-r', join(ortDir, 'dist'), join(ortOut, 'dist')]);
  copyFileSync(join(ortDir, bin, 'onnxruntime_binding.node'), join(ortOut, bin, 'onnxruntime_binding.node'));
  execFileSync('sh', [
    '-c',
    `xz -T2 -6 -c "${join(ortDir, bin, 'libonnxruntime.so.1')}" > "${join(ortOut, bin, 'libonnxruntime.so.1.xz')}"`,
  ]);
  execFileSync('cp', ['-r', commonDir, join(tmp, 'node_modules/onnxruntime-common')]);
}

// 5. The Vulkan loader and GL libraries.
const debDir = join(root, '.gl');
const debs = existsSync(debDir) ? readdirSync(debDir).filter((n) => n.endsWith('.deb')) : [];
if (!debs.some((d) => d.startsWith('libvulkan1'))) {
  console.error(`pack: no libvulkan1 .deb in ${relative(root, debDir)}/: run tools/device/fetch-gl.sh first`);
  process.exit(1);
}
mkdirSync(join(tmp, 'debs'));
for (const d of debs) copyFileSync(join(debDir, d), join(tmp, 'debs', d));

// 6. The node binary (cached next to the pack: it rarely changes). Its static symbol table is stripped (addons such as
// Dawn resolve Node's API through the dynamic symbols, which stay) and it is xz'd at -9e: ~21.9 MB instead of ~24.2 MB
// at -6 unstripped, room that a carried dataset or checkpoint needs under the 64 MiB carry limit.
const nodeCache = join(dirname(out), 'node-stripped.xz');
if (withNode) {
  if (!existsSync(nodeCache) || statSync(nodeCache).mtimeMs < statSync(process.execPath).mtimeMs) {
    console.error(`pack: compressing ${process.execPath} (${process.version}) → ${relative(root, nodeCache)}`);
    execFileSync('sh', [
      '-c',
      `cp "${process.execPath}" "${nodeCache}.bin" && { strip --strip-all "${nodeCache}.bin" 2>/dev/null || true; } && ` +
        `xz -T2 -9e -c "${nodeCache}.bin" > "${nodeCache}.tmp" && rm "${nodeCache}.bin" && ` +
        `mv "${nodeCache}.tmp" "${nodeCache}"`,
    ]);
  }
  copyFileSync(nodeCache, join(tmp, 'node.xz'));
}

// 7. The launcher.
writeFileSync(
  join(tmp, 'run.sh'),
  `#!/usr/bin/env bash
# Runs the packed program on a Linux x64 GPU machine without Node.js or network. Made by tools/device/pack.mjs
# from ${entries.map((e) => relative(root, e)).join(', ')} with Node ${process.version}.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "\${GEOLIP_PACK_SKIP_DEBS:-0}" != 1 ] && ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
  for f in "$here"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
for z in "$here"/app-*.mjs.xz; do [ -f "\${z%.xz}" ] || { xz -dc "$z" > "\${z%.xz}.tmp" && mv "\${z%.xz}.tmp" "\${z%.xz}"; }; done
dawn="$here/node_modules/webgpu/dist/linux-x64/dawn.node"
if [ ! -f "$dawn" ] && [ -f "$dawn.xz" ]; then xz -dc "$dawn.xz" > "$dawn.tmp" && mv "$dawn.tmp" "$dawn"; fi
ort="$here/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
if [ ! -f "$ort" ] && [ -f "$ort.xz" ]; then xz -dc "$ort.xz" > "$ort.tmp" && mv "$ort.tmp" "$ort"; fi
export GEOLIP_DAWN_VERSION="webgpu@${JSON.parse(readFileSync(join(webgpuDir, 'package.json'), 'utf8')).version} (Dawn for Node)"
export VK_DRIVER_FILES="\${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}"
export __EGL_VENDOR_LIBRARY_FILENAMES="\${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}"
node="\${GEOLIP_NODE:-/tmp/geolip-node-${process.version}}"
if [ ! -x "$node" ]; then
  if [ -f "$here/node.xz" ]; then xz -dc "$here/node.xz" > "$node.tmp" && chmod +x "$node.tmp" && mv "$node.tmp" "$node";
  elif command -v node >/dev/null; then node="$(command -v node)";
  else echo "run.sh: no node.xz in the pack and no node on PATH" >&2; exit 1; fi
fi
${
  entries.length === 1
    ? `exec "$node" \${GEOLIP_NODE_ARGS:-} "$here/app-${names[0]}.mjs" "$@"`
    : `prog="\${1:?usage: run.sh <${names.join('|')}> [args]}"; shift
[ -f "$here/app-$prog.mjs" ] || { echo "run.sh: unknown program '$prog' (${names.join(', ')})" >&2; exit 2; }
exec "$node" \${GEOLIP_NODE_ARGS:-} "$here/app-$prog.mjs" "$@"`
}
`,
);
chmodSync(join(tmp, 'run.sh'), 0o755);

rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
const size = execFileSync('du', ['-sh', out]).toString().split('\t')[0];
console.log(
  `pack: ${relative(root, out)} (${size}) from ${entries.map((e) => relative(root, e)).join(', ')}; run there: bash ${relative(root, out)}/run.sh${entries.length > 1 ? ` <${names.join('|')}>` : ''}`,
);

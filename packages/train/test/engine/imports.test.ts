// The engine loads no model package: the module graph of `import '@geolip/train'` (its entry, src/index.ts, bundled by
// esbuild with the other @geolip packages resolved through their package exports, as Node resolves them) holds no file
// of @geolip/text, @geolip/vision, @geolip/diffusion or @geolip/recipes. The built entry is checked at run time by
// tools/scripts/engine-imports.test.mjs (`node -e "import('@geolip/train')"` with a resolve hook).
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const MODEL_PACKAGES =
  /^(packages[\\/](text|vision|diffusion|recipes)[\\/]|node_modules[\\/]@geolip[\\/](text|vision|diffusion|recipes)[\\/])/;

describe('@geolip/train imports', () => {
  it.skipIf(process.env.GEOLIP_BACKEND === 'wasm')(
    'loads no model package (text, vision, diffusion) and not the recipes',
    async () => {
      const root = fileURLToPath(new URL('../../../../', import.meta.url));
      const result = await build({
        absWorkingDir: root, // input paths are relative to the repository: packages/<name>/…
        entryPoints: ['packages/train/src/index.ts'],
        bundle: true,
        write: false,
        metafile: true,
        platform: 'node',
        format: 'esm',
        logLevel: 'silent',
        external: ['@tensorflow/*'],
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.length).toBeGreaterThan(20); // the graph was followed (losses, loop, consensus, geometry, nn …)
      expect(inputs.some((f) => /^packages[\\/]geometry[\\/]/.test(f))).toBe(true);
      expect(inputs.filter((f) => MODEL_PACKAGES.test(f))).toEqual([]);
    },
  );
});

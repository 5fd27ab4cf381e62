// `geolip-bench scan`: embeds a seeded sample of STS-B dev sentences and prints @geolip/anchors' scan.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { main } from '../src/cli.js';

const here = dirname(fileURLToPath(import.meta.url));
const model = join(here, 'fixtures', 'cli', 'model.mjs');

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  } as never);
  return { code, stdout, stderr };
}

describe('geolip-bench scan', () => {
  it('scans a seeded sample of the embedded STS-B dev split with the genres as labels', async () => {
    const r = await cli(['scan', '--model', model, '--sample', '120', '--backend', 'cpu']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^SCAN fixture-trigram on 120 STS-B dev sentences \(labels: main-captions, main-forums, main-news\)/,
    );
    expect(r.stdout).toMatch(/N × D\s+120 × \d+/);
    expect(r.stdout).toMatch(/CV \(global\)\s+0\.\d{4} \[200\/200 valid\]/);
    expect(r.stdout).toMatch(/1-NN acc\s+[\d.]+\s+\(chance [\d.]+, 3 classes\)/);
    // Same seed, same sample and report; another seed, another sample.
    expect((await cli(['scan', '--model', model, '--sample', '120', '--backend', 'cpu'])).stdout).toBe(r.stdout);
    expect(
      (await cli(['scan', '--model', model, '--sample', '120', '--backend', 'cpu', '--seed', '1'])).stdout,
    ).not.toBe(r.stdout);
  });

  it('rejects bad options with exit code 2 (usage; 1 before @geolip/cli)', async () => {
    const r = await cli(['scan', '--model', model, '--seed', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/geolip-bench: error: --seed must be an integer, got 'x'/);
  });
});

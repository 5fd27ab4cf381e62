import { defineConfig } from 'vitest/config';

// Node tests of the page's pure parts, and the end-to-end test in headless Chromium (test/*.browser.test.ts).
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 180_000 },
});

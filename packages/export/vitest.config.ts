// Every test file runs on the cpu and the wasm backend: see tools/vitest/backend-projects.ts.
export { default } from '../../tools/vitest/backend-projects.js';

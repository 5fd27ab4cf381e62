// Every test file runs on the cpu and the wasm backend: see tools/vitest/backend-projects.ts. This package tests the
// wasm backend's threads and kernels, so its wasm project keeps threads on (the other packages run wasm on one).
import { backendProjects } from '../../tools/vitest/backend-projects.js';

export default backendProjects({ wasmThreads: 'auto' });

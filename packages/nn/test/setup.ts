// Selects the backend named by GEOLIP_BACKEND (the vitest projects set cpu or wasm), registers gradients
// and this package's kernels.
import { beforeAll } from 'vitest';
import { initBackend } from '../src/backend.js';

beforeAll(async () => {
  const info = await initBackend({ log: () => {} });
  if (!info.gradients) throw new Error('test setup: gradients could not be registered');
});

// Selects the backend named by GEOLIP_BACKEND (the vitest projects set cpu or wasm) and registers gradients.
import { initBackend } from '@geolip/nn/backend';
import { beforeAll } from 'vitest';

beforeAll(async () => {
  const info = await initBackend({ log: () => {} });
  if (!info.gradients) throw new Error('test setup: gradients could not be registered');
});

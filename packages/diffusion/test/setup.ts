// Selects the backend named by GEOLIP_BACKEND (the vitest projects set cpu or wasm).
import { beforeAll } from 'vitest';
import { initBackend } from '@geolip/nn/backend';

beforeAll(async () => {
  await initBackend({ log: () => {} });
});

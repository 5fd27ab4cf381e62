// Selects the backend named by GEOLIP_BACKEND (the vitest projects set cpu or wasm) and keeps tfjs quiet.
import { beforeAll } from 'vitest';

import { initBackend } from '@geolip/geometry/backend';

beforeAll(async () => {
  await initBackend({ log: () => {} });
});

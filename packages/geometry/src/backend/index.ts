export { initBackend, ensureGradients, BACKEND_NAMES, parseBackendName } from './init-backend.js';
export type { BackendName, BackendInfo, InitBackendOptions, WasmInfo } from './init-backend.js';

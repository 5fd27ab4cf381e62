export {
  initBackend,
  ensureBackend,
  ensureGradients,
  resolveLogLevel,
  BACKEND_NAMES,
  parseBackendName,
} from './init-backend.js';
export type { BackendName, BackendInfo, InitBackendOptions, LogLevel, WasmInfo } from './init-backend.js';

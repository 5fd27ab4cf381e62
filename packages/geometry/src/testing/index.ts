export { expectTensorClose } from './expect-tensor-close.js';
export type { CloseOptions } from './expect-tensor-close.js';

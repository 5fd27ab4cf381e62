/** `@geolip/io/node`: the weights layer's file-system helpers (Node only). */
export { writeFileAtomic } from './write-atomic.js';

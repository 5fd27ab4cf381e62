/**
 * `@geolip/io/testing`: builders of weights-file bytes for tests (of this package and of the packages that read
 * such files through it). Not for production code.
 */
export { float64Bytes, npyBytes } from './npy-bytes.js';

// A minimal PNG encoder for 8-bit grayscale images (sample grids): signature, IHDR, one IDAT (zlib deflate of the
// rows, each prefixed with filter type 0) and IEND, every chunk with its CRC-32 (ISO 3309, polynomial 0xEDB88320).
import { deflateSync } from 'node:zlib';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

let table: Uint32Array | undefined;

/** CRC-32 of `bytes` (the PNG / zlib / gzip CRC), as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** The rows as PNG scanlines: each row prefixed with its filter type byte (0, none). */
function pngScanlines(width: number, height: number, pixels: Uint8Array): Uint8Array {
  const rows = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) rows.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return rows;
}

/**
 * Encodes an 8-bit grayscale image as PNG (color type 0, bit depth 8, no interlace, filter 0 on every row).
 * @param pixels - `width·height` bytes, row-major, 0 = black.
 * @throws {RangeError} If the size is not positive integers or `pixels` has the wrong length.
 */
export function encodeGrayPng(width: number, height: number, pixels: Uint8Array): Uint8Array {
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > 0x7fffffff ||
    height > 0x7fffffff
  ) {
    throw new RangeError(`encodeGrayPng: width and height must be positive integers, got ${width}×${height}`);
  }
  if (!(pixels instanceof Uint8Array) || pixels.length !== width * height) {
    throw new RangeError(
      `encodeGrayPng: 'pixels' must be a Uint8Array of ${width * height} bytes, got ${pixels?.length}`,
    );
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // color type: grayscale
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  const idat = new Uint8Array(deflateSync(pngScanlines(width, height, pixels)));
  const parts = [SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

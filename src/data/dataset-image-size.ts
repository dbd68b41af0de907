// Image dimensions from the file header alone (PNG IHDR, JPEG SOF, WebP VP8/VP8L/VP8X) plus a look at the
// last bytes for truncation, so scanning 50,000 sketches reads kilobytes per file instead of decoding them.

import type { FileLike } from '../io/file-source';
import { ImageDecodeError, detectImageFormat } from './image-codec';

export interface ImageSize {
  format: 'png' | 'jpeg' | 'webp';
  width: number;
  height: number;
}

const HEAD_BYTES = 64 * 1024;
/** JPEG EOI must lie in this many final bytes; encoders sometimes pad after it. */
const JPEG_TAIL_BYTES = 1024;
/** Marker segments followed past the head before giving up (EXIF, ICC and XMP rarely need more than a few). */
const MAX_JPEG_SEGMENTS = 256;
const PNG_IEND = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];

/** Reads the size of a PNG, JPEG or WebP file; throws ImageDecodeError naming the file otherwise. */
export async function readImageSize(file: FileLike): Promise<ImageSize> {
  const head = await file.read(0, Math.min(file.size, HEAD_BYTES));
  const format = detectImageFormat(head);
  if (format === undefined) throw new ImageDecodeError(file.path, 'not-an-image', 'contents are not a PNG, JPEG or WebP image');
  if (format !== 'png' && format !== 'jpeg' && format !== 'webp') {
    throw new ImageDecodeError(file.path, 'unsupported', `${format.toUpperCase()} images are not supported; convert to PNG, JPEG or WebP`);
  }
  const size = format === 'png' ? pngSize(head, file.path) : format === 'jpeg' ? await jpegSize(file, head) : webpSize(head, file.path);
  if (!(await looksComplete(file, format, head))) {
    throw new ImageDecodeError(file.path, 'truncated', `truncated ${format.toUpperCase()} file`);
  }
  return { format, ...size };
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function corrupt(path: string, detail: string): ImageDecodeError {
  return new ImageDecodeError(path, 'corrupt', detail);
}

function pngSize(head: Uint8Array, path: string): { width: number; height: number } {
  // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4).
  if (head.length < 24) throw new ImageDecodeError(path, 'truncated', 'truncated PNG header');
  if (String.fromCharCode(...head.subarray(12, 16)) !== 'IHDR') throw corrupt(path, 'PNG does not start with an IHDR chunk');
  return { width: view(head).getUint32(16), height: view(head).getUint32(20) };
}

function isStartOfFrame(marker: number): boolean {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

async function jpegSize(file: FileLike, head: Uint8Array): Promise<{ width: number; height: number }> {
  const bytesAt = async (pos: number, n: number): Promise<Uint8Array | undefined> => {
    if (pos + n <= head.length) return head.subarray(pos, pos + n);
    return pos + n <= file.size ? file.read(pos, n) : undefined;
  };
  let pos = 2;
  for (let segment = 0; segment < MAX_JPEG_SEGMENTS; segment++) {
    // Marker (2), segment length (2), and for SOF: precision (1), height (2), width (2).
    const bytes = await bytesAt(pos, 9);
    if (!bytes) throw new ImageDecodeError(file.path, 'truncated', 'JPEG ends before its frame header');
    if (bytes[0] !== 0xff) throw corrupt(file.path, `JPEG marker expected at byte ${pos}`);
    const marker = bytes[1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (isStartOfFrame(marker)) {
      const v = view(bytes);
      return { width: v.getUint16(7), height: v.getUint16(5) };
    }
    if (marker === 0xda || marker === 0xd9) throw corrupt(file.path, 'JPEG has no frame header before its image data');
    pos += 2 + view(bytes).getUint16(2);
  }
  throw corrupt(file.path, `no JPEG frame header in the first ${MAX_JPEG_SEGMENTS} segments`);
}

function webpSize(head: Uint8Array, path: string): { width: number; height: number } {
  // RIFF header (12), chunk fourcc (4), chunk size (4), then the chunk's own header.
  if (head.length < 30) throw new ImageDecodeError(path, 'truncated', 'truncated WebP header');
  const v = view(head);
  const chunk = String.fromCharCode(...head.subarray(12, 16));
  switch (chunk) {
    case 'VP8 ': // lossy: frame tag (3), start code 9d 01 2a, 14-bit width and height
      if (head[23] !== 0x9d || head[24] !== 0x01 || head[25] !== 0x2a) throw corrupt(path, 'WebP VP8 start code missing');
      return { width: v.getUint16(26, true) & 0x3fff, height: v.getUint16(28, true) & 0x3fff };
    case 'VP8L': {
      // lossless: signature 0x2f, then width − 1 and height − 1 in 14 bits each
      if (head[20] !== 0x2f) throw corrupt(path, 'WebP VP8L signature missing');
      const bits = v.getUint32(21, true);
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    case 'VP8X': // extended: flags (4), canvas width − 1 and height − 1 in 24 bits each
      return { width: (v.getUint32(24, true) & 0xffffff) + 1, height: (v.getUint32(26, true) >>> 8) + 1 };
    default:
      throw corrupt(path, `unknown WebP chunk "${chunk}"`);
  }
}

async function looksComplete(file: FileLike, format: ImageSize['format'], head: Uint8Array): Promise<boolean> {
  switch (format) {
    case 'png': {
      if (file.size < 8 + 25 + PNG_IEND.length) return false;
      const tail = await file.read(file.size - PNG_IEND.length, PNG_IEND.length);
      return PNG_IEND.every((b, i) => tail[i] === b);
    }
    case 'jpeg': {
      const n = Math.min(file.size, JPEG_TAIL_BYTES);
      const tail = await file.read(file.size - n, n);
      for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return true;
      return false;
    }
    case 'webp':
      return view(head).getUint32(4, true) + 8 <= file.size;
  }
}

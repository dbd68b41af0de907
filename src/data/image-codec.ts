// Image files to 8-bit RGBA and back. In a browser or worker (createImageBitmap + OffscreenCanvas) the
// platform decodes; elsewhere (Node) fast-png and jpeg-js do. Formats are recognised by their magic
// bytes, never by the file name, and every failure names the file.

import { decode as decodePngFile, encode as encodePngFile } from 'fast-png';
import { decode as decodeJpegFile } from 'jpeg-js';
import type { RGBAImage } from './image';

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp' | 'tiff' | 'avif';

export type ImageDecodeFailure = 'not-an-image' | 'truncated' | 'unsupported' | 'corrupt';

export class ImageDecodeError extends Error {
  constructor(
    readonly fileName: string,
    readonly reason: ImageDecodeFailure,
    detail: string,
  ) {
    super(`${fileName}: ${detail}`);
    this.name = 'ImageDecodeError';
  }
}

/** A real image in a format this environment cannot decode. */
export class UnsupportedImageError extends ImageDecodeError {
  constructor(fileName: string, detail: string) {
    super(fileName, 'unsupported', detail);
    this.name = 'UnsupportedImageError';
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: ArrayLike<number>, at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));

export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'gif';
  if (startsWith(bytes, ascii('BM'))) return 'bmp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(bytes, ascii('ftypavif'), 4) || startsWith(bytes, ascii('ftypavis'), 4)) return 'avif';
  return undefined;
}

function hasBrowserDecoder(): boolean {
  return typeof createImageBitmap === 'function' && typeof OffscreenCanvas === 'function';
}

/** Decodes a PNG, JPEG or WebP file to straight-alpha 8-bit RGBA. `name` labels errors. */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<RGBAImage> {
  const format = detectImageFormat(bytes);
  if (format === undefined) throw new ImageDecodeError(name, 'not-an-image', 'not a PNG, JPEG or WebP image');
  if (format !== 'png' && format !== 'jpeg' && format !== 'webp') {
    throw new UnsupportedImageError(name, `${format.toUpperCase()} images are not supported; convert to PNG, JPEG or WebP`);
  }
  // Checked before any decoder runs: jpeg-js and browsers quietly fill missing rows with grey.
  if (!isComplete(format, bytes)) throw new ImageDecodeError(name, 'truncated', `truncated ${format.toUpperCase()} file`);
  if (hasBrowserDecoder()) return decodeInBrowser(bytes, name);
  if (format === 'webp') {
    throw new UnsupportedImageError(
      name,
      'WebP needs a browser decoder (createImageBitmap + OffscreenCanvas); outside a browser convert it to PNG or JPEG',
    );
  }
  try {
    return format === 'png' ? pngToRgba(bytes) : jpegToRgba(bytes);
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/unsupported color mode/i.test(message)) {
      throw new UnsupportedImageError(name, `JPEG colour model not supported (${message}); 4-channel JPEGs need an Adobe marker`);
    }
    throw new ImageDecodeError(name, 'corrupt', `corrupt ${format.toUpperCase()} data: ${message}`);
  }
}

function isComplete(format: 'png' | 'jpeg' | 'webp', bytes: Uint8Array): boolean {
  switch (format) {
    case 'png':
      return pngChunks(bytes).complete;
    case 'jpeg':
      return jpegHasEndMarker(bytes);
    case 'webp': {
      const riffSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
      return bytes.length >= riffSize + 8;
    }
  }
}

/** Walks the marker segments and entropy-coded data to the EOI marker (so an EXIF thumbnail's EOI does not count). */
function jpegHasEndMarker(bytes: Uint8Array): boolean {
  let pos = 2;
  while (pos + 1 < bytes.length) {
    if (bytes[pos] !== 0xff) return false;
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xd9) return true;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    if (pos + 3 >= bytes.length) return false;
    pos += 2 + ((bytes[pos + 2]! << 8) | bytes[pos + 3]!);
    if (marker === 0xda) {
      // Entropy-coded data runs to the next marker other than a stuffed 0xFF00 or a restart marker.
      while (pos + 1 < bytes.length) {
        const next = bytes[pos + 1]!;
        if (bytes[pos] === 0xff && next !== 0x00 && !(next >= 0xd0 && next <= 0xd7)) break;
        pos++;
      }
    }
  }
  return false;
}

async function decodeInBrowser(bytes: Uint8Array, name: string): Promise<RGBAImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([new Uint8Array(bytes)]), {
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'none',
    });
  } catch (error) {
    throw new ImageDecodeError(name, 'corrupt', `the browser could not decode it (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d');
    if (!context) throw new ImageDecodeError(name, 'unsupported', 'OffscreenCanvas has no 2D context here');
    context.drawImage(bitmap, 0, 0);
    const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: pixels.width, height: pixels.height, data: pixels.data };
  } finally {
    bitmap.close();
  }
}

/** Every PNG colour type and bit depth to 8-bit RGBA; 16-bit samples keep their high byte, like Pillow. */
function pngToRgba(bytes: Uint8Array): RGBAImage {
  const png = decodePngFile(bytes);
  const { width, height, depth, channels } = png;
  const pixels = width * height;
  const out = new Uint8ClampedArray(pixels * 4);
  if (png.palette) {
    const indices = unpackSamples(png.data, width, height, depth);
    for (let p = 0; p < pixels; p++) {
      const entry = png.palette[indices[p]!];
      if (!entry) throw new Error(`palette index ${indices[p]} out of range`);
      out[p * 4] = entry[0]!;
      out[p * 4 + 1] = entry[1]!;
      out[p * 4 + 2] = entry[2]!;
      out[p * 4 + 3] = entry[3] ?? 255;
    }
    return { width, height, data: out };
  }
  const samples = depth < 8 ? unpackSamples(png.data, width, height, depth) : png.data;
  const maxValue = 2 ** depth - 1;
  const to8 = depth === 16 ? (v: number) => v >>> 8 : depth === 8 ? (v: number) => v : (v: number) => Math.round((v * 255) / maxValue);
  // A tRNS chunk on grey or RGB images names one colour (at the file's bit depth) that is transparent.
  const key = png.transparency && png.transparency.length > 0 ? png.transparency : undefined;
  for (let p = 0; p < pixels; p++) {
    const s = p * channels;
    const o = p * 4;
    if (channels <= 2) {
      const gray = samples[s]!;
      out[o] = out[o + 1] = out[o + 2] = to8(gray);
      out[o + 3] = channels === 2 ? to8(samples[s + 1]!) : key && gray === key[0] ? 0 : 255;
    } else {
      out[o] = to8(samples[s]!);
      out[o + 1] = to8(samples[s + 1]!);
      out[o + 2] = to8(samples[s + 2]!);
      const keyed = key && samples[s] === key[0] && samples[s + 1] === key[1] && samples[s + 2] === key[2];
      out[o + 3] = channels === 4 ? to8(samples[s + 3]!) : keyed ? 0 : 255;
    }
  }
  return { width, height, data: out };
}

/** One sample per byte from single-channel rows packed at 1, 2, 4 or 8 bits (rows start on a byte). */
function unpackSamples(data: ArrayLike<number>, width: number, height: number, depth: number): Uint8Array {
  if (depth === 8) return Uint8Array.from(data);
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)]!;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/** Baseline and progressive JPEG; grey is replicated, Adobe CMYK/YCCK converted to RGB by jpeg-js. */
function jpegToRgba(bytes: Uint8Array): RGBAImage {
  const jpeg = decodeJpegFile(bytes, { useTArray: true, formatAsRGBA: true });
  return { width: jpeg.width, height: jpeg.height, data: new Uint8ClampedArray(jpeg.data.buffer, jpeg.data.byteOffset, jpeg.data.byteLength) };
}

export interface GrayImage {
  width: number;
  height: number;
  /** One byte per pixel. */
  data: Uint8Array;
}

/**
 * An 8-bit RGBA or greyscale PNG. `text` entries become tEXt chunks (iTXt, UTF-8, when a value is
 * not Latin-1), as A1111 writes its `parameters` chunk.
 */
export function encodePng(img: RGBAImage | GrayImage, text: Record<string, string> = {}): Uint8Array {
  const pixels = img.width * img.height;
  const channels = img.data.length === pixels ? 1 : img.data.length === pixels * 4 ? 4 : 0;
  if (channels === 0) throw new RangeError(`${img.data.length} bytes is neither grey nor RGBA for ${img.width}x${img.height}`);
  const png = encodePngFile({ width: img.width, height: img.height, data: img.data, channels, depth: 8 });
  const chunks = Object.entries(text).map(([keyword, value]) => textChunk(keyword, value));
  if (chunks.length === 0) return png;
  // Text goes right after IHDR (8-byte signature + 25-byte IHDR chunk) so readers find it before the pixels.
  const afterHeader = 8 + 25;
  const total = png.length + chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  out.set(png.subarray(0, afterHeader), 0);
  let offset = afterHeader;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  out.set(png.subarray(afterHeader), offset);
  return out;
}

const isLatin1 = (s: string): boolean => /^[\u0000-\u00ff]*$/.test(s);

function textChunk(keyword: string, value: string): Uint8Array {
  if (keyword.length < 1 || keyword.length > 79 || !isLatin1(keyword) || keyword.includes('\0')) {
    throw new RangeError(`PNG text keyword must be 1-79 Latin-1 characters without NUL: '${keyword}'`);
  }
  const key = Uint8Array.from(keyword, (c) => c.charCodeAt(0));
  if (isLatin1(value)) {
    return pngChunk('tEXt', concat([key, [0], Uint8Array.from(value, (c) => c.charCodeAt(0))]));
  }
  // iTXt: keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword, NUL, UTF-8 text.
  return pngChunk('iTXt', concat([key, [0, 0, 0, 0, 0], new TextEncoder().encode(value)]));
}

function concat(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function pngChunk(type: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  out.set(ascii(type), 4);
  out.set(payload, 8);
  view.setUint32(8 + payload.length, crc32(out.subarray(4, 8 + payload.length)));
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

interface PngChunk {
  type: string;
  data: Uint8Array;
}

/** The chunk list; `complete` when every chunk fits in the file and IEND was reached. */
function pngChunks(bytes: Uint8Array): { chunks: PngChunk[]; complete: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: PngChunk[] = [];
  let pos = 8;
  while (pos + 12 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + length > bytes.length) break;
    chunks.push({ type, data: bytes.subarray(pos + 8, pos + 8 + length) });
    if (type === 'IEND') return { chunks, complete: true };
    pos += 12 + length;
  }
  return { chunks, complete: false };
}

/**
 * The tEXt and uncompressed iTXt entries of a PNG (A1111's `parameters` among them). Compressed text
 * (zTXt, compressed iTXt) is not read. `name` labels errors.
 */
export function readPngText(bytes: Uint8Array, name = 'image.png'): Record<string, string> {
  if (!startsWith(bytes, PNG_SIGNATURE)) throw new ImageDecodeError(name, 'not-an-image', 'not a PNG file');
  const text: Record<string, string> = {};
  for (const { type, data } of pngChunks(bytes).chunks) {
    const keyEnd = data.indexOf(0);
    if (keyEnd < 1) continue;
    const keyword = latin1String(data.subarray(0, keyEnd));
    if (type === 'tEXt') {
      text[keyword] = latin1String(data.subarray(keyEnd + 1));
    } else if (type === 'iTXt' && data[keyEnd + 1] === 0) {
      const languageEnd = data.indexOf(0, keyEnd + 3);
      const translatedEnd = languageEnd < 0 ? -1 : data.indexOf(0, languageEnd + 1);
      if (translatedEnd >= 0) text[keyword] = new TextDecoder().decode(data.subarray(translatedEnd + 1));
    }
  }
  return text;
}

// TextDecoder('latin1') is really windows-1252, which remaps 0x80-0x9F.
function latin1String(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

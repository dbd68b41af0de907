import { crc32 } from 'node:zlib';
import { decode as decodePng, encode as encodeFastPng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { createImage, type RGBAImage } from '../../src/data/image';
import {
  ImageDecodeError,
  UnsupportedImageError,
  decodeImage,
  detectImageFormat,
  encodePng,
  readPngText,
} from '../../src/data/image-codec';

function draw(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): RGBAImage {
  const img = createImage(width, height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) img.data.set(pixel(x, y), (y * width + x) * 4);
  return img;
}

const fromBase64 = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

/** Inserts a chunk right after IHDR, with its CRC from zlib (independent of the code under test). */
function withChunk(png: Uint8Array, type: string, payload: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + payload.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, payload.length);
  chunk.set(new TextEncoder().encode(type), 4);
  chunk.set(payload, 8);
  view.setUint32(8 + payload.length, crc32(chunk.subarray(4, 8 + payload.length)));
  return new Uint8Array([...png.subarray(0, 33), ...chunk, ...png.subarray(33)]);
}

async function decodeError(bytes: Uint8Array, name: string): Promise<ImageDecodeError> {
  const error = await decodeImage(bytes, name).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageDecodeError);
  expect((error as Error).message).toContain(name);
  return error as ImageDecodeError;
}

// Made with Pillow (Image.new('CMYK' | 'L', (16, 8)), left half / right half, saved as JPEG quality 95);
// jpeg-js can only write YCbCr JPEGs. CMYK: left C=255, right K=128 (Pillow writes Adobe inverted CMYK).
// Grey: left 40, right 200.
const CMYK_JPEG =
  '/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwACAQEBAQECAQEBAgICAgIEAwICAgIFBAQDBAYFBgYGBQYGBgcJCAYHCQcGBggLCAkKCgoKCgYICwwLCgwJCgoK/8AAFAgACAAQBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD+f+v38r9/K/fyv7/KKK/n/r//2Q==';
const GRAY_JPEG =
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/wAALCAAIABABAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/APyfr+oCv//Z';

describe('PNG', () => {
  const rgba = draw(13, 7, (x, y) => [x * 19, y * 36, (x * y * 11) % 256, (x * 37 + y * 50) % 256]);

  it('round-trips RGBA exactly', async () => {
    const out = await decodeImage(encodePng(rgba), 'rgba.png');
    expect([out.width, out.height]).toEqual([13, 7]);
    expect(out.data).toEqual(rgba.data);
  });

  it('writes greyscale PNGs and decodes them as opaque grey RGBA', async () => {
    const gray = { width: 5, height: 3, data: Uint8Array.from({ length: 15 }, (_, i) => i * 17) };
    const png = encodePng(gray);
    expect(decodePng(png).channels).toBe(1);
    const out = await decodeImage(png, 'gray.png');
    for (let p = 0; p < 15; p++) expect(Array.from(out.data.subarray(p * 4, p * 4 + 4))).toEqual([p * 17, p * 17, p * 17, 255]);
  });

  it('keeps the high byte of 16-bit RGB and grey+alpha samples', async () => {
    const rgb16 = Uint16Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 2741 + 300) % 65536);
    const out = await decodeImage(encodeFastPng({ width: 4, height: 3, data: rgb16, channels: 3, depth: 16 }), 'rgb16.png');
    for (let p = 0; p < 12; p++) {
      expect(Array.from(out.data.subarray(p * 4, p * 4 + 4))).toEqual([rgb16[p * 3]! >> 8, rgb16[p * 3 + 1]! >> 8, rgb16[p * 3 + 2]! >> 8, 255]);
    }
    const ga16 = Uint16Array.from([0, 65535, 65535, 0, 32768, 257]);
    const ga = await decodeImage(encodeFastPng({ width: 3, height: 1, data: ga16, channels: 2, depth: 16 }), 'ga16.png');
    expect(Array.from(ga.data)).toEqual([0, 0, 0, 255, 255, 255, 255, 0, 128, 128, 128, 1]);
  });

  it('expands palettes with per-entry alpha', async () => {
    // Translucent entries first: fast-png's encoder writes tRNS for the leading non-opaque entries only.
    const palette = [[10, 20, 30, 0], [200, 100, 50, 128], [1, 2, 3, 255], [255, 255, 255, 255]];
    const indices = Uint8Array.from([0, 1, 2, 3, 3, 2, 1, 0]);
    const out = await decodeImage(encodeFastPng({ width: 4, height: 2, data: indices, channels: 1, depth: 8, palette }), 'palette.png');
    for (let p = 0; p < 8; p++) expect(Array.from(out.data.subarray(p * 4, p * 4 + 4))).toEqual(palette[indices[p]!]);
  });

  it('unpacks 1-, 2- and 4-bit greyscale to the full 0-255 range', async () => {
    for (const depth of [1, 2, 4] as const) {
      const max = 2 ** depth - 1;
      const width = 11;
      const samples = Array.from({ length: width * 2 }, (_, i) => (i * 5) % (max + 1));
      const rowBytes = Math.ceil((width * depth) / 8);
      const packed = new Uint8Array(rowBytes * 2);
      samples.forEach((v, i) => {
        const y = Math.floor(i / width);
        const bit = (i % width) * depth;
        packed[y * rowBytes + (bit >> 3)]! |= v << (8 - depth - (bit & 7));
      });
      const out = await decodeImage(encodeFastPng({ width, height: 2, data: packed, channels: 1, depth }), `gray${depth}.png`);
      samples.forEach((v, p) => expect(out.data[p * 4], `depth ${depth} pixel ${p}`).toBe(Math.round((v * 255) / max)));
    }
  });

  it('makes the tRNS key colour of grey and RGB images transparent', async () => {
    const gray = encodeFastPng({ width: 3, height: 1, data: Uint8Array.from([5, 9, 5]), channels: 1, depth: 8 });
    const keyedGray = await decodeImage(withChunk(gray, 'tRNS', Uint8Array.from([0, 5])), 'key-gray.png');
    expect([keyedGray.data[3], keyedGray.data[7], keyedGray.data[11]]).toEqual([0, 255, 0]);
    // Three pixels: fast-png refuses a tRNS with more 16-bit values than the image has pixels.
    const rgb = encodeFastPng({ width: 3, height: 1, data: Uint8Array.from([1, 2, 3, 1, 2, 4, 1, 2, 3]), channels: 3, depth: 8 });
    const keyedRgb = await decodeImage(withChunk(rgb, 'tRNS', Uint8Array.from([0, 1, 0, 2, 0, 3])), 'key-rgb.png');
    expect([keyedRgb.data[3], keyedRgb.data[7], keyedRgb.data[11]]).toEqual([0, 255, 0]);
  });
});

describe('PNG text chunks', () => {
  const img = draw(2, 2, () => [1, 2, 3, 255]);

  it('writes Latin-1 as tEXt and other text as UTF-8 iTXt, with valid CRCs, and reads both back', async () => {
    const text = {
      parameters: 'a stencil of a fox\nNegative prompt: blurry\nSteps: 20, Sampler: DDIM, CFG scale: 7.5, Seed: 42',
      Comment: 'caf\u00e9 \u00a9 \u0085',
      prompt: '\u72d0\u72f8 \ud83e\udd8a',
    };
    const png = encodePng(img, text);
    expect(readPngText(png)).toEqual(text);
    const chunkTypes = new TextDecoder().decode(png);
    expect(chunkTypes).toContain('tEXtparameters');
    expect(chunkTypes).toContain('iTXtprompt');
    expect(() => decodePng(png, { checkCrc: true })).not.toThrow();
    expect((await decodeImage(png, 'with-text.png')).data).toEqual(img.data);
  });

  it('rejects keywords PNG does not allow and non-PNG input', () => {
    expect(() => encodePng(img, { '': 'x' })).toThrow(/keyword/);
    expect(() => encodePng(img, { ['k'.repeat(80)]: 'x' })).toThrow(/keyword/);
    expect(() => readPngText(new Uint8Array([1, 2, 3]), 'notes.txt')).toThrow(/notes\.txt: not a PNG/);
  });
});

describe('JPEG', () => {
  it('decodes a colour JPEG close to its source', async () => {
    const src = draw(24, 16, (x, y) => [x * 10, y * 15, 128, 255]);
    const jpeg = new Uint8Array(encodeJpeg({ width: 24, height: 16, data: src.data }, 100).data);
    expect(detectImageFormat(jpeg)).toBe('jpeg');
    const out = await decodeImage(jpeg, 'photo.jpg');
    let worst = 0;
    for (let i = 0; i < src.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i]! - src.data[i]!));
    expect(worst).toBeLessThanOrEqual(8);
  });

  it('decodes greyscale JPEGs to equal R, G and B', async () => {
    const out = await decodeImage(fromBase64(GRAY_JPEG), 'gray.jpg');
    for (let p = 0; p < 16 * 8; p++) {
      const [r, g, b, a] = out.data.subarray(p * 4, p * 4 + 4);
      expect(g).toBe(r);
      expect(b).toBe(r);
      expect(a).toBe(255);
      expect(Math.abs(r! - (p % 16 < 8 ? 40 : 200))).toBeLessThanOrEqual(3);
    }
  });

  it('converts Adobe CMYK JPEGs to RGB = (255 - C)(255 - K) / 255 per channel', async () => {
    const out = await decodeImage(fromBase64(CMYK_JPEG), 'print.jpg');
    const rgb = (c: number, m: number, y: number, k: number) => [c, m, y].map((v) => ((255 - v) * (255 - k)) / 255);
    for (let p = 0; p < 16 * 8; p++) {
      const expected = p % 16 < 8 ? rgb(255, 0, 0, 0) : rgb(0, 0, 0, 128);
      for (let c = 0; c < 3; c++) expect(Math.abs(out.data[p * 4 + c]! - expected[c]!), `pixel ${p}`).toBeLessThanOrEqual(4);
    }
  });
});

describe('format detection and errors', () => {
  const png = encodePng(draw(16, 16, (x, y) => [x * 16, y * 16, 0, 255]));
  const jpeg = new Uint8Array(encodeJpeg({ width: 16, height: 16, data: draw(16, 16, (x) => [x * 16, 0, 0, 255]).data }, 90).data);

  it('detects by magic bytes, not by name', async () => {
    expect(detectImageFormat(png)).toBe('png');
    expect((await decodeImage(png, 'misnamed.jpg')).width).toBe(16);
    expect((await decodeImage(jpeg, 'misnamed.png')).width).toBe(16);
  });

  it('names the file when the bytes are not an image', async () => {
    const error = await decodeError(new TextEncoder().encode('just some text'), 'readme.png');
    expect(error.reason).toBe('not-an-image');
  });

  it('reports truncated PNG and JPEG files', async () => {
    expect((await decodeError(png.subarray(0, png.length - 20), 'cut.png')).reason).toBe('truncated');
    expect((await decodeError(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'cut.jpg')).reason).toBe('truncated');
  });

  it('is not fooled by an end-of-image marker inside an earlier segment (EXIF thumbnail)', async () => {
    const app1 = [0xff, 0xe1, 0x00, 0x08, 0x45, 0x78, 0xff, 0xd9, 0x00, 0x00];
    const withApp1 = new Uint8Array([...jpeg.subarray(0, 2), ...app1, ...jpeg.subarray(2)]);
    expect((await decodeImage(withApp1, 'exif.jpg')).width).toBe(16);
    expect((await decodeError(withApp1.subarray(0, withApp1.length - 40), 'exif-cut.jpg')).reason).toBe('truncated');
  });

  it('reports corrupt data in a structurally complete PNG', async () => {
    const corrupt = png.slice();
    const idat = new TextDecoder('latin1').decode(corrupt).indexOf('IDAT');
    corrupt.fill(0xaa, idat + 4, idat + 20);
    expect((await decodeError(corrupt, 'broken.png')).reason).toBe('corrupt');
  });

  it('throws UnsupportedImageError naming the file for WebP in Node and for GIF anywhere', async () => {
    const payload = [...new TextEncoder().encode('VP8L'), 5, 0, 0, 0, 0x2f, 0, 0, 0, 0, 0];
    const webp = new Uint8Array([...new TextEncoder().encode('RIFF'), 4 + payload.length, 0, 0, 0, ...new TextEncoder().encode('WEBP'), ...payload]);
    expect(detectImageFormat(webp)).toBe('webp');
    const webpError = await decodeError(webp, 'sketch.webp');
    expect(webpError).toBeInstanceOf(UnsupportedImageError);
    expect(webpError.message).toMatch(/WebP/);
    const gif = new Uint8Array([...new TextEncoder().encode('GIF89a'), 1, 0, 1, 0, 0, 0, 0]);
    expect(await decodeError(gif, 'anim.gif')).toBeInstanceOf(UnsupportedImageError);
  });
});

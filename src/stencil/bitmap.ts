// A two-colour image. Black = ink = the area cut away; white = the sheet that remains.

/** Row-major, one byte per pixel: 1 = ink (black), 0 = sheet (white). */
export interface Bitmap {
  width: number;
  height: number;
  data: Uint8Array;
}

export function createBitmap(width: number, height: number): Bitmap {
  return { width, height, data: new Uint8Array(width * height) };
}

export function cloneBitmap(bitmap: Bitmap): Bitmap {
  return { width: bitmap.width, height: bitmap.height, data: bitmap.data.slice() };
}

export function countInk(bitmap: Bitmap): number {
  let n = 0;
  for (let i = 0; i < bitmap.data.length; i++) n += bitmap.data[i];
  return n;
}

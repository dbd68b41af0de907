// Node folders and files as FileLike / DirectorySource (CLI, tests). Reads by offset through a file handle.
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { checkRange, type DirectorySource, type FileLike } from './file-source';

export async function nodeFile(absPath: string, path = basename(absPath)): Promise<FileLike> {
  const { size } = await stat(absPath);
  const file: FileLike = {
    path,
    name: basename(absPath),
    size,
    async read(offset, length) {
      checkRange({ path, size }, offset, length);
      const fh = await open(absPath, 'r');
      try {
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await fh.read(out, done, length - done, offset + done);
          if (bytesRead === 0) throw new RangeError(`${path}: file shrank while reading`);
          done += bytesRead;
        }
        return out;
      } finally {
        await fh.close();
      }
    },
    async blob() {
      // read() fills a fresh Uint8Array, so its buffer is a plain ArrayBuffer.
      return new Blob([(await file.read(0, size)) as Uint8Array<ArrayBuffer>]);
    },
  };
  return file;
}

export async function nodeDirectory(root: string): Promise<DirectorySource> {
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`${root}: not a folder`);
  return {
    name: basename(root),
    async files() {
      const names = (await readdir(root, { recursive: true, withFileTypes: true }))
        .filter((d) => d.isFile())
        .map((d) => relative(root, join(d.parentPath, d.name)).split(sep).join('/'))
        .sort();
      return Promise.all(names.map((p) => nodeFile(join(root, p), p)));
    },
    async file(path) {
      const abs = join(root, ...path.split('/'));
      const s = await stat(abs).catch(() => undefined);
      return s?.isFile() ? nodeFile(abs, path) : undefined;
    },
  };
}

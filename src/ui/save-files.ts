// Files with relative paths (an exported unet/ folder) saved where the user picks: into a chosen folder
// where the browser can write one, else as one download per file.
import { saveFile } from './download';

type DirectoryPicker = (options: { mode: 'readwrite' }) => Promise<FileSystemDirectoryHandle>;

async function writeInto(root: FileSystemDirectoryHandle, path: string, data: Uint8Array): Promise<void> {
  const parts = path.split('/');
  let dir = root;
  for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create: true });
  const writable = await (await dir.getFileHandle(parts[parts.length - 1], { create: true })).createWritable();
  await writable.write(data as Uint8Array<ArrayBuffer>);
  await writable.close();
}

/** Resolves to where the files went, for the user; rejects with AbortError when the picker is dismissed. */
export async function saveFiles(files: { path: string; data: Uint8Array }[], prefix: string): Promise<string> {
  const picker = (window as Window & { showDirectoryPicker?: DirectoryPicker }).showDirectoryPicker;
  if (picker) {
    const root = await picker({ mode: 'readwrite' });
    for (const f of files) await writeInto(root, f.path, f.data);
    return `${files.map((f) => f.path).join(', ')} written to the folder "${root.name}"`;
  }
  for (const f of files) saveFile(f.data, 'application/octet-stream', `${prefix}-${f.path.replaceAll('/', '-')}`);
  return `${files.length} files downloaded`;
}

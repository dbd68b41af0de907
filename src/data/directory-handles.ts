// Browser folders as DirectorySource: a FileSystemDirectoryHandle (showDirectoryPicker, a dropped folder,
// OPFS: one code path) and the File list of <input type=file webkitdirectory>.

import { blobDirectory, blobFile, type DirectorySource, type FileLike } from '../io/file-source';

/** FileSystemDirectoryHandle's async iteration (lib.dom.asynciterable is not in our lib list). */
type DirectoryEntries = { values(): AsyncIterable<FileSystemDirectoryHandle | FileSystemFileHandle> };

async function walk(dir: FileSystemDirectoryHandle, prefix: string, out: FileLike[]): Promise<void> {
  for await (const handle of (dir as unknown as DirectoryEntries).values()) {
    const path = prefix + handle.name;
    if (handle.kind === 'directory') await walk(handle, `${path}/`, out);
    else out.push(blobFile(await handle.getFile(), path));
  }
}

export function handleDirectory(root: FileSystemDirectoryHandle): DirectorySource {
  return {
    name: root.name,
    async files() {
      const out: FileLike[] = [];
      await walk(root, '', out);
      return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },
    async file(path) {
      const parts = path.split('/');
      let dir = root;
      try {
        for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part);
        const handle = await dir.getFileHandle(parts[parts.length - 1]!);
        return blobFile(await handle.getFile(), path);
      } catch (error) {
        // NotFoundError: no such entry; TypeMismatchError: a folder where a file was asked for (or back).
        if (error instanceof DOMException && (error.name === 'NotFoundError' || error.name === 'TypeMismatchError')) return undefined;
        throw error;
      }
    },
  };
}

/**
 * The directory handles of a drop. Must be called synchronously inside the drop handler: after its first
 * await the DataTransfer is emptied. Items that are files, not folders, are left out.
 */
export function droppedDirectoryHandles(transfer: DataTransfer): Promise<FileSystemDirectoryHandle[]> {
  const pending = [...transfer.items]
    .filter((item) => item.kind === 'file')
    .map((item) => (item as DataTransferItem & { getAsFileSystemHandle(): Promise<FileSystemHandle | null> }).getAsFileSystemHandle());
  return Promise.all(pending).then((handles) =>
    handles.filter((h): h is FileSystemDirectoryHandle => h !== null && h.kind === 'directory'),
  );
}

/**
 * The files of <input type=file webkitdirectory>. Their webkitRelativePath starts with the chosen folder's
 * name, which becomes the source name and is stripped from every path; the list arrives unsorted.
 */
export function inputFilesDirectory(files: Iterable<File>): DirectorySource {
  const list = [...files];
  const relative = list.map((f) => f.webkitRelativePath || f.name);
  const top = relative[0]?.includes('/') ? relative[0].slice(0, relative[0].indexOf('/')) : '';
  const entries = list.map((file, i): [string, Blob] => {
    const path = relative[i]!;
    return [top && path.startsWith(`${top}/`) ? path.slice(top.length + 1) : path, file];
  });
  return blobDirectory(top || 'files', entries);
}

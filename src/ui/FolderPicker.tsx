// A folder from the user, three ways that all end in the same FolderSource: the directory picker (where the
// browser has one), <input type=file webkitdirectory> otherwise, or a folder dropped on the zone.
import { useId, useRef, useState } from 'react';
import { droppedDirectoryHandles } from '../data/directory-handles';
import type { FolderSource } from '../worker/messages';

type DirectoryPicker = (options?: { id?: string; mode?: 'read' | 'readwrite' }) => Promise<FileSystemDirectoryHandle>;

function directoryPicker(): DirectoryPicker | undefined {
  return (window as Window & { showDirectoryPicker?: DirectoryPicker }).showDirectoryPicker;
}

export function FolderPicker({
  name,
  hint,
  disabled,
  onFolder,
}: {
  /** What the folder is ("model folder", "dataset folder"): labels the controls. */
  name: string;
  hint: string;
  disabled?: boolean;
  onFolder: (source: FolderSource) => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const inputId = useId();
  const [over, setOver] = useState(false);
  const [dropError, setDropError] = useState<string>();

  const pick = async () => {
    const picker = directoryPicker();
    if (!picker) return input.current?.click();
    try {
      onFolder({ kind: 'folder-handle', handle: await picker({ id: name.replace(/\W/g, '-'), mode: 'read' }) });
    } catch (e) {
      if ((e as DOMException).name !== 'AbortError') setDropError((e as Error).message);
    }
  };

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (disabled) return;
    // Must run before any await: the DataTransfer is emptied once the handler yields.
    droppedDirectoryHandles(e.dataTransfer).then(
      (handles) => {
        if (handles.length === 0) return setDropError(`Drop a folder, not single files, as the ${name}.`);
        setDropError(undefined);
        onFolder({ kind: 'folder-handle', handle: handles[0] });
      },
      (err: Error) => setDropError(err.message),
    );
  };

  return (
    <div
      className={`drop-zone${over ? ' over' : ''}`}
      data-testid={`drop-${name.replace(/\W/g, '-')}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <p>
        Drop a {name} here, or{' '}
        <button type="button" onClick={pick} disabled={disabled}>
          Pick {name}…
        </button>
      </p>
      <p className="hint">{hint}</p>
      <label className="file-fallback" htmlFor={inputId}>
        Or choose the {name} with the file dialog
        <input
          id={inputId}
          ref={input}
          type="file"
          disabled={disabled}
          {...({ webkitdirectory: '' } as object)}
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            e.target.value = '';
            if (files.length) onFolder({ kind: 'folder-files', files });
          }}
        />
      </label>
      {dropError && <p className="notice error">{dropError}</p>}
    </div>
  );
}

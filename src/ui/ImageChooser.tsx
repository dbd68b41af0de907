// One image from the user (file dialog or drop), decoded in the worker.
import { useId, useState } from 'react';
import type { EngineClient } from '../worker/engine-client';
import type { OpenedImage } from '../worker/messages';
import { ErrorNotice } from './ErrorNotice';

export function ImageChooser({ client, label, onImage }: { client: EngineClient; label: string; onImage: (image: OpenedImage) => void }) {
  const id = useId();
  const [error, setError] = useState<Error>();
  const open = (file: File | undefined) => {
    if (!file) return;
    client.call('openImage', { file, name: file.name }).then((image) => {
      setError(undefined);
      onImage(image);
    }, setError);
  };
  return (
    <div
      className="drop-zone small"
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        e.preventDefault();
        open(e.dataTransfer.files[0]);
      }}
    >
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="file"
        accept="image/png,image/jpeg,image/webp"
        onChange={(e) => {
          open(e.target.files?.[0]);
          e.target.value = '';
        }}
      />
      <span className="hint">PNG, JPEG or WebP; or drop it here.</span>
      <ErrorNotice error={error} context="Opening the image" />
    </div>
  );
}

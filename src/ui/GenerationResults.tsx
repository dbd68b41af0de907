// The gallery, newest first and kept across reloads: each result with the weights and parameters it was made
// with, a PNG download (parameters included) and a stencil workbench for cutting it. A comparison shows the
// base model and the checkpoint side by side on the same seed.
import { useEffect, useMemo, useState } from 'react';
import type { GalleryRecord, GalleryResult } from '../storage/gallery-store';
import type { EngineClient } from '../worker/engine-client';
import type { OpenedImage } from '../worker/messages';
import { saveFile } from './download';
import { ErrorNotice } from './ErrorNotice';
import { StencilWorkbench } from './StencilWorkbench';

function PngImage({ png, alt }: { png: Uint8Array; alt: string }) {
  const url = useMemo(() => URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' })), [png]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  return <img src={url} alt={alt} className="result-image" />;
}

function ResultImages({ result, onStencil }: { result: GalleryResult; onStencil: (png: Uint8Array, name: string) => void }) {
  const stem = `stencil-diffusion-${result.seed}${result.weights === 'base model' ? '' : '-checkpoint'}`;
  return (
    <div className="stack" data-testid="result-set">
      <h3 className="result-weights">{result.weights}</h3>
      <div className="result-images">
        {result.images.map((image, i) => (
          <div key={i} className="stack">
            <PngImage png={image.png} alt={`Generated with the ${result.weights}: ${result.prompt}`} />
            <div className="row">
              <button type="button" onClick={() => saveFile(image.png, 'image/png', `${stem}-${i}.png`)}>
                Download PNG
              </button>
              <button type="button" className="secondary" onClick={() => onStencil(image.png, `${stem}-${i}.png`)}>
                Make a stencil
              </button>
            </div>
          </div>
        ))}
      </div>
      <pre className="parameters" data-testid="result-parameters">
        {result.parameters}
      </pre>
      {result.notes.map((n) => (
        <p key={n} className="notice">
          {n}
        </p>
      ))}
    </div>
  );
}

function ResultCard({ client, record, onDelete }: { client: EngineClient; record: GalleryRecord; onDelete: () => void }) {
  const [stencil, setStencil] = useState<OpenedImage>();
  const [error, setError] = useState<Error>();
  const openStencil = (png: Uint8Array, name: string) =>
    client.call('openImage', { file: new Blob([png as BlobPart], { type: 'image/png' }), name }).then(setStencil, setError);
  const compare = record.results.length > 1;
  return (
    <article className="result" data-testid="result" aria-label={compare ? 'Comparison' : 'Result'}>
      <div className="label-row">
        <span className="hint">
          {compare ? `Comparison on seed ${record.results[0]!.seed}` : `Seed ${record.results[0]!.seed}`} · {new Date(record.createdAt).toLocaleString()}
          {record.id < 0 && ' · not saved'}
        </span>
        <button type="button" className="secondary" onClick={onDelete} aria-label={`Delete this ${compare ? 'comparison' : 'result'} (seed ${record.results[0]!.seed})`}>
          Delete
        </button>
      </div>
      <div className={compare ? 'compare' : undefined}>
        {record.results.map((r, i) => (
          <ResultImages key={i} result={r} onStencil={openStencil} />
        ))}
      </div>
      <ErrorNotice error={error} context="Opening the image as a stencil" />
      {stencil && <StencilWorkbench key={stencil.id} client={client} image={stencil} />}
    </article>
  );
}

export function GenerationResults({
  client,
  records,
  error,
  onDelete,
  onClear,
}: {
  client: EngineClient;
  records: GalleryRecord[];
  error: Error | undefined;
  onDelete: (id: number) => void;
  onClear: () => void;
}) {
  const clear = () => {
    if (confirm(`Delete all ${records.length} results from the gallery? This cannot be undone.`)) onClear();
  };
  return (
    <section className="panel" aria-labelledby="results-heading">
      <div className="label-row">
        <h2 id="results-heading">Gallery</h2>
        {records.length > 0 && (
          <button type="button" className="secondary" onClick={clear}>
            Clear gallery
          </button>
        )}
      </div>
      <ErrorNotice error={error} context="The gallery" />
      {records.length === 0 && <p className="hint">Images appear here with their parameters, a PNG download and stencil controls, and stay after a reload.</p>}
      {records.map((r) => (
        <ResultCard key={r.id} client={client} record={r} onDelete={() => onDelete(r.id)} />
      ))}
    </section>
  );
}

// The images of this session, newest first, each with the parameters it was made with, a PNG download
// (parameters included) and a stencil workbench for cutting it.
import { useEffect, useMemo, useState } from 'react';
import type { EngineClient } from '../worker/engine-client';
import type { GenerateOutput, OpenedImage } from '../worker/messages';
import { saveFile } from './download';
import { ErrorNotice } from './ErrorNotice';
import { StencilWorkbench } from './StencilWorkbench';

export interface GenerationRecord {
  id: number;
  output: GenerateOutput;
}

function PngImage({ png, alt }: { png: Uint8Array; alt: string }) {
  const url = useMemo(() => URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' })), [png]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  return <img src={url} alt={alt} className="result-image" />;
}

function ResultCard({ client, record }: { client: EngineClient; record: GenerationRecord }) {
  const [stencil, setStencil] = useState<OpenedImage>();
  const [error, setError] = useState<Error>();
  const { output } = record;
  const openStencil = (png: Uint8Array, index: number) =>
    client.call('openImage', { file: new Blob([png as BlobPart], { type: 'image/png' }), name: `image-${output.seed}-${index}.png` }).then(setStencil, setError);
  return (
    <article className="result" data-testid="result">
      <div className="result-images">
        {output.images.map((image, i) => (
          <div key={i} className="stack">
            <PngImage png={image.png} alt={`Generated: ${output.prompt}`} />
            <div className="row">
              <button type="button" onClick={() => saveFile(image.png, 'image/png', `stencil-diffusion-${output.seed}-${i}.png`)}>
                Download PNG
              </button>
              <button type="button" className="secondary" onClick={() => openStencil(image.png, i)}>
                Make a stencil
              </button>
            </div>
          </div>
        ))}
      </div>
      <pre className="parameters" data-testid="result-parameters">
        {output.parameters}
      </pre>
      {output.notes.map((n) => (
        <p key={n} className="notice">
          {n}
        </p>
      ))}
      <ErrorNotice error={error} context="Opening the image as a stencil" />
      {stencil && <StencilWorkbench key={stencil.id} client={client} image={stencil} />}
    </article>
  );
}

export function GenerationResults({ client, records }: { client: EngineClient; records: GenerationRecord[] }) {
  return (
    <section className="panel" aria-labelledby="results-heading">
      <h2 id="results-heading">Results</h2>
      {records.length === 0 && <p className="hint">Images appear here with their parameters, a PNG download and stencil controls.</p>}
      {records.map((r) => (
        <ResultCard key={r.id} client={client} record={r} />
      ))}
    </section>
  );
}

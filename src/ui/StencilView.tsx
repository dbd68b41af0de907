// The Stencil view: any image (a photo, a drawing, a generated image) to a cut-ready stencil. Needs no GPU.
import { useState } from 'react';
import type { EngineClient } from '../worker/engine-client';
import type { OpenedImage } from '../worker/messages';
import { ImageChooser } from './ImageChooser';
import { StencilWorkbench } from './StencilWorkbench';

export function StencilView({ client }: { client: EngineClient }) {
  const [image, setImage] = useState<OpenedImage>();
  return (
    <div className="stack">
      <section className="panel" aria-labelledby="stencil-heading">
        <h2 id="stencil-heading">Stencil from an image</h2>
        <ImageChooser client={client} label="Image to turn into a stencil" onImage={setImage} />
        {image && (
          <p className="hint" data-testid="stencil-source">
            {image.name}: {image.width}×{image.height} px
          </p>
        )}
      </section>
      {image && <StencilWorkbench key={image.id} client={client} image={image} />}
    </div>
  );
}

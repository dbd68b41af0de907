// A run's validation images as they come: one strip per validation step, newest first, each image with
// its step and prompt under it.
import { useEffect, useMemo } from 'react';

export interface ValidationSet {
  step: number;
  images: { prompt: string; png: Uint8Array }[];
}

function ValidationImage({ step, prompt, png }: { step: number; prompt: string; png: Uint8Array }) {
  const url = useMemo(() => URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' })), [png]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  return (
    <figure className="validation-image">
      <img src={url} alt={`Validation image at step ${step}: ${prompt}`} />
      <figcaption>
        <strong>Step {step}</strong> · {prompt}
      </figcaption>
    </figure>
  );
}

export function ValidationImages({ sets }: { sets: ValidationSet[] }) {
  if (sets.length === 0) return null;
  return (
    <section className="validation" aria-label="Validation images" data-testid="validation-images">
      {sets.map((set) => (
        <div key={set.step} className="validation-strip">
          {set.images.map((image, i) => (
            <ValidationImage key={i} step={set.step} prompt={image.prompt} png={image.png} />
          ))}
        </div>
      ))}
    </section>
  );
}

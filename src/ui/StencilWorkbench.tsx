// An opened image turned into a stencil: controls, an instant preview with islands and bridges
// highlighted, and PNG / SVG / DXF downloads of exactly what the preview shows.
import { useEffect, useRef, useState } from 'react';
import type { EngineClient } from '../worker/engine-client';
import type { OpenedImage, StencilExportParams, StencilPreview } from '../worker/messages';
import { saveFile } from './download';
import { ErrorNotice } from './ErrorNotice';
import { SelectField } from './NumberField';
import { RgbaCanvas } from './RgbaCanvas';
import { StencilControls } from './StencilControls';
import { DEFAULT_STENCIL_SETTINGS, stencilOptions } from './stencil-settings';
import { useSetting } from './use-setting';

function baseName(name: string): string {
  return name.replace(/\.[^.]+$/, '') || 'stencil';
}

export function StencilWorkbench({ client, image }: { client: EngineClient; image: OpenedImage }) {
  const [settings, setSettings] = useSetting('stencil', DEFAULT_STENCIL_SETTINGS);
  const [layer, setLayer] = useState(0);
  const [view, setView] = useState<'highlights' | 'as-cut'>('highlights');
  const [preview, setPreview] = useState<StencilPreview>();
  const [error, setError] = useState<Error>();
  const [exporting, setExporting] = useState<string>();
  const latest = useRef(0);
  const options = stencilOptions(settings);
  const optionsKey = JSON.stringify(options);

  useEffect(() => {
    // Only the newest request's answer is shown: slider moves outrun the stencil.
    const ticket = ++latest.current;
    client.call('stencil', { imageId: image.id, options: JSON.parse(optionsKey), layer }).then(
      (p) => {
        if (ticket !== latest.current) return;
        setPreview(p);
        setError(undefined);
      },
      (e: Error) => {
        if (ticket !== latest.current) return;
        // A stale preview would pass for the settings that just failed.
        setPreview(undefined);
        setError(e);
      },
    );
  }, [client, image.id, optionsKey, layer]);

  const download = async (format: StencilExportParams['format']) => {
    setExporting(format);
    try {
      const out = await client.call('exportStencil', {
        imageId: image.id,
        options,
        format,
        widthMm: settings.widthMm > 0 ? settings.widthMm : undefined,
        pngWidth: settings.pngWidth,
        trace: { maxNodes: settings.maxNodes },
      });
      saveFile(out.data, out.mime, `${baseName(image.name)}-stencil.${format}`);
      setError(undefined);
    } catch (e) {
      setError(e as Error);
    } finally {
      setExporting(undefined);
    }
  };

  const shown = preview && Math.min(layer, preview.layers.length - 1);
  return (
    <div className="columns stencil">
      <StencilControls settings={settings} onChange={setSettings} />
      <div className="stack">
        {preview && shown !== undefined && (
          <figure className="preview" data-testid="stencil-preview">
            <RgbaCanvas
              width={preview.width}
              height={preview.height}
              data={view === 'highlights' ? preview.preview : preview.composite}
              label={view === 'highlights' ? 'Stencil preview: ink black, islands blue, bridges orange' : 'Stencil as cut'}
            />
            <figcaption>
              {preview.width}×{preview.height} px · layer {preview.layers[shown].name}: {preview.layers[shown].islands} islands,{' '}
              {preview.layers[shown].bridges} bridges
              {preview.layers[shown].deletedIslands > 0 && `, ${preview.layers[shown].deletedIslands} deleted`}
            </figcaption>
          </figure>
        )}
        <div className="row">
          <SelectField
            label="Show"
            value={view}
            options={[
              ['highlights', 'islands and bridges highlighted'],
              ['as-cut', 'all layers as cut'],
            ]}
            onChange={setView}
          />
          {preview && preview.layers.length > 1 && (
            <SelectField
              label="Layer"
              value={String(shown)}
              options={preview.layers.map((l, i) => [String(i), `${l.name} (gray ${l.lower}–${l.upper - 1})`] as const)}
              onChange={(v) => setLayer(Number(v))}
            />
          )}
        </div>
        {preview?.notices.map((n) => (
          <p key={n} className="notice">
            {n}
          </p>
        ))}
        <ErrorNotice error={error} context="The stencil" />
        <div className="row">
          {(['png', 'svg', 'dxf'] as const).map((f) => (
            <button key={f} type="button" disabled={!preview || exporting !== undefined} onClick={() => download(f)}>
              {exporting === f ? 'Preparing…' : `Download ${f.toUpperCase()}`}
            </button>
          ))}
        </div>
      </div>
    </div>
  );
}

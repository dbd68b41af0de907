// Threshold, clean-up, bridges, layers and output size: every change re-renders the preview at once.
import { CheckField, NumberField, SelectField } from './NumberField';
import type { StencilSettings } from './stencil-settings';

export function StencilControls({ settings: s, onChange }: { settings: StencilSettings; onChange: (s: StencilSettings) => void }) {
  const set = <K extends keyof StencilSettings>(key: K) => (value: StencilSettings[K]) => onChange({ ...s, [key]: value });
  return (
    <div className="stencil-controls">
      <fieldset>
        <legend>Threshold</legend>
        <CheckField label="Automatic (Otsu)" checked={s.autoThreshold} onChange={set('autoThreshold')} disabled={s.adaptive} />
        <NumberField label="Threshold" slider min={0} max={255} value={s.threshold} onChange={set('threshold')} disabled={s.autoThreshold || s.adaptive} />
        <CheckField label="Adaptive (uneven lighting)" checked={s.adaptive && s.layers === 1} onChange={set('adaptive')} disabled={s.layers > 1} />
        <SelectField
          label="Layers"
          value={String(s.layers) as '1' | '2' | '3'}
          options={[
            ['1', '1 (black and white)'],
            ['2', '2 tone layers'],
            ['3', '3 tone layers'],
          ]}
          onChange={(v) => set('layers')(Number(v) as 1 | 2 | 3)}
        />
      </fieldset>
      <fieldset>
        <legend>Clean-up</legend>
        <NumberField label="Remove specks and pinholes below (px)" min={0} max={2000} value={s.despeckle} onChange={set('despeckle')} />
        <NumberField label="Smooth edges (radius px)" min={0} max={10} value={s.smooth} onChange={set('smooth')} />
        <NumberField label="Line thickness (± px)" min={-10} max={10} value={s.thickness} onChange={set('thickness')} />
        <CheckField label="Invert" checked={s.invert} onChange={set('invert')} />
        <CheckField label="Fill background" checked={s.fillBackground} onChange={set('fillBackground')} />
      </fieldset>
      <fieldset>
        <legend>Bridges</legend>
        <CheckField label="Bridge islands" checked={s.bridges} onChange={set('bridges')} />
        <NumberField label="Bridge width (px)" min={1} max={40} value={s.bridgeWidth} onChange={set('bridgeWidth')} disabled={!s.bridges} />
        <NumberField label="Bridges per island" min={1} max={8} value={s.bridgesPerIsland} onChange={set('bridgesPerIsland')} disabled={!s.bridges} />
        <NumberField
          label="Delete islands smaller than (px²)"
          min={0}
          max={100000}
          value={s.minIslandArea}
          onChange={set('minIslandArea')}
          disabled={!s.bridges}
        />
      </fieldset>
      <fieldset>
        <legend>Output</legend>
        <NumberField label="Width (mm, 0 = no physical size)" min={0} max={5000} value={s.widthMm} onChange={set('widthMm')} />
        <NumberField label="PNG width (px)" min={16} max={8192} value={s.pngWidth} onChange={set('pngWidth')} />
        <NumberField label="Node cap for the cutter (0 = none)" min={0} max={1000000} step={100} value={s.maxNodes} onChange={set('maxNodes')} />
      </fieldset>
    </div>
  );
}

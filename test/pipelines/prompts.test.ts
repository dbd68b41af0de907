import { describe, expect, it } from 'vitest';
import { formatParameters, parseParameters } from '../../src/pipelines/png-parameters';
import { STENCIL_NEGATIVE, STENCIL_SUFFIX, applyTemplate, stylePrompt } from '../../src/pipelines/prompt-style';

describe('prompt styles', () => {
  it('steers the base model to stencils and gives a fine-tune its template alone', () => {
    const base = stylePrompt('a cat', undefined, 'auto', { fineTuned: false });
    expect(base).toEqual({ style: 'stencil', prompt: `a cat, ${STENCIL_SUFFIX}`, negative: STENCIL_NEGATIVE });
    const tuned = stylePrompt('a cat', undefined, 'auto', { fineTuned: true });
    expect(tuned).toEqual({ style: 'sketch', prompt: 'sketch of a cat', negative: '' });
    expect(stylePrompt('a cat', 'blurry', 'stencil', { fineTuned: true }).negative).toBe('blurry');
    expect(stylePrompt('  a cat ', undefined, 'none', { fineTuned: false }).prompt).toBe('a cat');
    expect(stylePrompt('', undefined, 'sketch', { fineTuned: true }).prompt).toBe('');
  });

  it('does not double a template the prompt already starts with', () => {
    expect(applyTemplate('sketch of {name}', 'Sketch of a dog')).toBe('Sketch of a dog');
    expect(applyTemplate('a drawing of {name}, ink', 'house')).toBe('a drawing of house, ink');
    expect(() => applyTemplate('sketch of', 'x')).toThrow(/no \{name\}/);
  });

  it('writes and reads the A1111 parameters text', () => {
    const p = { prompt: 'a cat, black silhouette', negative: 'color', steps: 20, scheduler: 'euler-a', cfg: 7.5, seed: 42, rng: 'philox', width: 512, height: 768, model: 'sd15', checkpoint: 'run1/step-500' };
    const text = formatParameters(p);
    expect(text).toBe('a cat, black silhouette\nNegative prompt: color\nSteps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, RNG: philox, Size: 512x768, Model: sd15, Checkpoint: run1/step-500');
    const back = parseParameters(text);
    expect(back).toMatchObject(p);
  });
});

// Min-SNR-γ loss weights (Hang et al. 2023, as train_text_to_image.py computes them): per sample,
// min(SNR, γ) / SNR for epsilon targets and min(SNR, γ) / (SNR + 1) for v-prediction.
export function minSnrWeights(alphasCumprod: Float32Array, timesteps: readonly number[], gamma: number, prediction: 'epsilon' | 'v_prediction'): number[] {
  return timesteps.map((t) => {
    const a = alphasCumprod[t];
    const snr = a / (1 - a);
    const clipped = Math.min(snr, gamma);
    return prediction === 'epsilon' ? clipped / snr : clipped / (snr + 1);
  });
}

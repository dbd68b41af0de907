// Dynamic loss scaling for the f16 path (torch.cuda.amp.GradScaler's policy): start high, halve on an
// inf/NaN gradient (the step is skipped), double after `growthInterval` clean steps.
export interface LossScalerState {
  scale: number;
  cleanSteps: number;
}

export class LossScaler {
  scale: number;
  private cleanSteps = 0;

  constructor(
    readonly enabled: boolean,
    initScale = 2 ** 16,
    readonly growthInterval = 2000,
    readonly minScale = 1,
  ) {
    this.scale = enabled ? initScale : 1;
  }

  static fromState(state: LossScalerState, enabled: boolean): LossScaler {
    const s = new LossScaler(enabled, state.scale);
    s.cleanSteps = state.cleanSteps;
    return s;
  }

  /** Record whether the step's gradients were finite; returns the scale for the next step. */
  update(finite: boolean): number {
    if (!this.enabled) return this.scale;
    if (!finite) {
      this.scale = Math.max(this.minScale, this.scale / 2);
      this.cleanSteps = 0;
    } else if (++this.cleanSteps >= this.growthInterval) {
      this.scale *= 2;
      this.cleanSteps = 0;
    }
    return this.scale;
  }

  state(): LossScalerState {
    return { scale: this.scale, cleanSteps: this.cleanSteps };
  }
}

// A lost GPU device (driver reset, GPU process crash) reaches the listeners once, with the reason, and every
// later sync throws it; disposing the engine on purpose is not a loss.
import { describe, expect, it } from 'vitest';
import { DeviceLostError } from '../../src/engine/errors';
import { startEngine } from '../engine-helpers';

describe('device loss', () => {
  it('is not reported when the engine is disposed on purpose', async () => {
    const engine = await startEngine();
    let heard = false;
    engine.onLost(() => (heard = true));
    engine.dispose();
    await engine.device.lost;
    await new Promise((r) => setTimeout(r, 50));
    expect(heard).toBe(false);
  });

  it('reaches every listener once, makes sync throw, and answers late listeners at once', async () => {
    const engine = await startEngine();
    const heard = new Promise<DeviceLostError>((resolve) => engine.onLost(resolve));
    let calls = 0;
    engine.onLost(() => calls++);
    engine.simulateDeviceLoss();
    const error = await heard;
    expect(error).toBeInstanceOf(DeviceLostError);
    expect(error.reason).toBe('simulated');
    expect(error.message).toMatch(/^GPU device lost \(simulated\): .+ The engine must be restarted\.$/);
    expect(calls).toBe(1);
    await expect(engine.sync()).rejects.toBe(error);
    const late = await new Promise<DeviceLostError>((resolve) => engine.onLost(resolve));
    expect(late).toBe(error);
  });
});

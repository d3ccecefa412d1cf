import { describe, expect, it } from 'vitest';
import { toDemand } from '../../server/scheduler/Demand.ts';
import { FragmentationModel } from '../../server/scheduler/FragmentationModel.ts';
import { task } from './fixtures.ts';

describe('FragmentationModel', () => {
  it('weights types by their GPU demand', () => {
    const model = new FragmentationModel();
    model.observe(toDemand(task('cpu'), 'fgd'));
    model.observe(toDemand(task('share', { gpuMilli: 500 }), 'fgd'));
    model.observe(toDemand(task('share-again', { gpuMilli: 500 }), 'fgd'));
    model.observe(toDemand(task('eight', { gpuCount: 8 }), 'fgd'));
    expect(model.refreshIfStale()).toBe(true);

    // 4000 per task plus its GPU thousandths: 4000 + 2 x 4500 + 12000.
    expect(model.totalWeight).toBe(25_000);
    const weights = model.fitWeights(1_000_000, 1_000_000);
    expect([...weights].sort((left, right) => left - right)).toEqual([4000, 9000, 12_000]);
  });

  it('excludes types whose CPU does not fit', () => {
    const model = new FragmentationModel();
    model.observe(toDemand(task('small', { cpuMilli: 1000, gpuCount: 1 }), 'fgd'));
    model.observe(toDemand(task('large', { cpuMilli: 8000, gpuCount: 1 }), 'fgd'));
    model.refreshIfStale();

    const weights = model.fitWeights(4000, 1_000_000);
    expect([...weights]).toEqual([5000]);
  });
});

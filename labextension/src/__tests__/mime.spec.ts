import { fraction, IBuildState, packagesText, renderBuild } from '../mime';

function state(overrides: Partial<IBuildState> = {}): IBuildState {
  return {
    steps: [
      { name: 'resolve', status: 'done' },
      { name: 'download', status: 'active' },
      { name: 'install', status: 'waiting' },
      { name: 'lock', status: 'waiting' }
    ],
    step: 'download',
    message: 'Prepared 3 packages in 1.2s',
    elapsed: 1.25,
    packages: 3,
    total: 14,
    log: ['Resolved 14 packages in 310ms', 'Prepared 3 packages in 1.2s'],
    summary: null,
    failed: false,
    ...overrides
  };
}

describe('the build progress renderer', () => {
  it('measures progress by steps: done ones, and half the active one', () => {
    expect(fraction(state())).toBeCloseTo(1.5 / 4);
    expect(fraction(state({ summary: 'isocell: environment ready' }))).toBe(1);
  });

  it('counts packages against the resolved total while building', () => {
    expect(packagesText(state())).toBe('3 of 14 packages');
    expect(packagesText(state({ packages: 14 }))).toBe('14 packages');
    expect(packagesText(state({ packages: null }))).toBe('');
  });

  it('shows the steps, a bar, the facts and the folded log', () => {
    const node = document.createElement('div');
    renderBuild(node, state());
    const steps = Array.from(node.querySelectorAll('li')).map(
      li => `${li.textContent}:${li.dataset.status}`
    );
    expect(steps).toEqual([
      'resolve:done',
      'download:active',
      'install:waiting',
      'lock:waiting'
    ]);
    expect(node.querySelector('progress')!.value).toBeCloseTo(0.375);
    expect(node.querySelector('.jp-isocell-Build-facts')!.textContent).toBe(
      '3 of 14 packages · 1.3 s · Prepared 3 packages in 1.2s'
    );
    const log = node.querySelector('details')!;
    expect(log.open).toBe(false);
    expect(log.querySelector('summary')!.textContent).toBe(
      'Build log (2 lines)'
    );
  });

  it('ends as one summary line, the log behind it; a failure says so', () => {
    const node = document.createElement('div');
    renderBuild(
      node,
      state({ summary: 'isocell: environment ready (built in 2.9 s)' })
    );
    expect(node.querySelector('ol')).toBeNull();
    expect(node.querySelector('.jp-isocell-Build-summary')!.textContent).toBe(
      'isocell: environment ready (built in 2.9 s)'
    );
    expect(node.querySelector('details')).not.toBeNull();
    renderBuild(
      node,
      state({
        summary: 'isocell: the environment could not be built: x',
        failed: true
      })
    );
    expect(node.classList.contains('jp-isocell-Build-failed')).toBe(true);
  });
});

import { statusText } from '../status';

describe('the status-bar item', () => {
  it('counts kernels and running builds, and is empty with neither', () => {
    expect(statusText(2, 1)).toBe('isocell: 2 kernels · 1 build');
    expect(statusText(1, 0)).toBe('isocell: 1 kernel');
    expect(statusText(0, 3)).toBe('isocell: 3 builds');
    expect(statusText(0, 0)).toBe('');
  });
});

import { parseTask } from '../api';
import {
  describeProgress,
  formatBytes,
  nameProblem,
  formatElapsed,
  formatRelative,
  parseRequirementLines,
  plainLogLine
} from '../widgets/format';
import { task } from './server';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [12_582_912, '12.0 MiB'],
    [157_286_400, '150 MiB'],
    [3 * 1024 ** 3, '3.0 GiB']
  ])('%d bytes is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('says unknown for a missing size', () => {
    expect(formatBytes(null)).toBe('unknown');
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2025-03-10T12:00:00Z');
  it.each([
    [null, 'never'],
    ['2025-03-10T11:59:30Z', 'just now'],
    ['2025-03-10T11:55:00Z', '5 min ago'],
    ['2025-03-10T09:00:00+00:00', '3 h ago'],
    ['2025-03-09T10:00:00Z', 'yesterday'],
    ['2025-03-01T12:00:00Z', '9 days ago'],
    ['2024-01-05T12:00:00Z', '2024-01-05'],
    ['not a date', 'not a date']
  ])('%s is %s', (iso, text) => {
    expect(formatRelative(iso, now)).toBe(text);
  });
});

describe('formatElapsed', () => {
  it('writes seconds, then minutes', () => {
    expect(formatElapsed(4.21)).toBe('4.2 s');
    expect(formatElapsed(125.4)).toBe('2 min 05 s');
  });
});

describe('describeProgress', () => {
  it('joins the phase, the packages and the time', () => {
    expect(
      describeProgress(
        parseTask(task({ phase: 'installing', packages: 12, elapsed: 3 }))
      )
    ).toBe('installing · 12 packages · 3.0 s');
    expect(
      describeProgress(
        parseTask(task({ state: 'done', packages: 1, elapsed: 61 }))
      )
    ).toBe('built · 1 package · 1 min 01 s');
    expect(
      describeProgress(parseTask(task({ phase: '', packages: null })))
    ).toBe('starting · 0.2 s');
  });
});

describe('parseRequirementLines', () => {
  it('keeps one requirement per line, without blanks and comments', () => {
    const text =
      'six==1.16.0\n\n  pandas>=2  # for frames\n# a note\npkg @ https://x/y.whl#sha=1\n';
    expect(parseRequirementLines(text)).toEqual([
      'six==1.16.0',
      'pandas>=2',
      'pkg @ https://x/y.whl#sha=1'
    ]);
  });
});

describe('plainLogLine', () => {
  it('drops terminal colour codes', () => {
    expect(plainLogLine('\x1b[33mWARNING: x\x1b[0m')).toBe('WARNING: x');
    expect(plainLogLine(' + six==1.16.0')).toBe(' + six==1.16.0');
  });
});

describe('a new environment name, as it is typed', () => {
  it('says what is wrong, or nothing', () => {
    expect(nameProblem('', [])).toBeNull();
    expect(nameProblem('analytics-2.1_x', [])).toBeNull();
    expect(nameProblem('-leading', [])).toContain(
      'starting with a letter or digit'
    );
    expect(nameProblem('has space', [])).toContain('1-64 letters');
    expect(nameProblem('a'.repeat(65), [])).toContain('1-64 letters');
    expect(nameProblem('taken', ['taken'])).toBe(
      'An environment named "taken" exists already.'
    );
  });
});

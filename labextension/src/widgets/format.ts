/**
 * How the sidebar writes sizes, times and build progress, and reads requirement lines.
 */
import { ITask } from '../api';
import { trans } from '../i18n';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** A size in bytes in binary units, e.g. `12.3 MiB`; `unknown` for `null`. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) {
    return trans().__('unknown');
  }
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/**
 * How long ago an ISO 8601 time was, e.g. `5 min ago`; `never` for `null`.
 *
 * @param now - the present, in milliseconds since the epoch
 */
export function formatRelative(
  iso: string | null,
  now: number = Date.now()
): string {
  if (iso === null) {
    return trans().__('never');
  }
  const then = Date.parse(iso);
  if (Number.isNaN(then)) {
    return iso;
  }
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) {
    return trans().__('just now');
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return trans().__('%1 min ago', minutes);
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return trans().__('%1 h ago', hours);
  }
  const days = Math.floor(hours / 24);
  if (days < 30) {
    return days === 1
      ? trans().__('yesterday')
      : trans()._n('%1 day ago', '%1 days ago', days);
  }
  return new Date(then).toISOString().slice(0, 10);
}

/** A duration in seconds, e.g. `4.2 s` or `2 min 05 s`. */
export function formatElapsed(seconds: number): string {
  if (seconds < 60) {
    return trans().__('%1 s', seconds.toFixed(1));
  }
  const whole = Math.floor(seconds);
  const rest = String(whole % 60).padStart(2, '0');
  return trans().__('%1 min %2 s', Math.floor(whole / 60), rest);
}

/** A task's progress in one line, e.g. `installing · 12 packages · 4.2 s`. */
export function describeProgress(task: ITask): string {
  const state =
    task.state === 'running'
      ? task.phase || trans().__('starting')
      : task.state === 'done'
        ? trans().__('built')
        : trans().__('failed');
  const parts = [state];
  if (task.packages !== null) {
    parts.push(trans()._n('%1 package', '%1 packages', task.packages));
  }
  parts.push(formatElapsed(task.elapsed));
  return parts.join(' · ');
}

// CSI sequences (colours, cursor moves) that pip and uv print even into a pipe at times.
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/** A builder's log line as plain text, without terminal colour codes. */
export function plainLogLine(line: string): string {
  return line.replace(ANSI_ESCAPE, '');
}

/** The requirements typed in a text area, one per line; blank lines and `#` comments dropped. */
export function parseRequirementLines(text: string): string[] {
  return text
    .split('\n')
    .map(line => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(line => line.length > 0);
}

/**
 * Where an export error is, when its message does not say it already: ` (cell 3, line 2)`.
 *
 * The server gives the cell's index (from 0, nbformat's); people, `isocell export` and the
 * server's own messages count cells from 1, and so does this.
 */
export function describeLocation(error: {
  cell: number | null;
  line: number | null;
  message: string;
}): string {
  if (error.cell === null) {
    return '';
  }
  const cell = error.cell + 1;
  if (new RegExp(`\\bcell ${cell}\\b`).test(error.message)) {
    return '';
  }
  return error.line === null
    ? trans().__(' (cell %1)', cell)
    : trans().__(' (cell %1, line %2)', cell, error.line);
}

/** An environment name's rule, as the server's (isocell/envs/_names.py). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * What is wrong with `name` as a new environment's name, as it is typed: `null` when it
 * is fine (or still empty).
 */
export function nameProblem(
  name: string,
  taken: ReadonlyArray<string>
): string | null {
  const trimmed = name.trim();
  if (!trimmed) {
    return null;
  }
  if (!NAME_PATTERN.test(trimmed)) {
    return trans().__(
      "Use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."
    );
  }
  if (taken.includes(trimmed)) {
    return trans().__('An environment named "%1" exists already.', trimmed);
  }
  return null;
}

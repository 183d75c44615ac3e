/**
 * What the kernel tells of an isolated cell (isocell/_cell_facts.py), and how the cell's
 * header reads it.
 */
import { trans } from './i18n';

/** The comm target the kernel tells it on. */
export const COMM_TARGET = 'isocell.cell';

/** The facts saved in the cell's metadata (the kernel's LASTING). */
export const LASTING = [
  'environment',
  'id',
  'python',
  'interpreter',
  'lock'
] as const;

/** What the kernel tells of one cell. */
export interface ICellFacts {
  environment: string;
  id: string;
  python: string;
  interpreter: string;
  lock: string | null;
  name?: string | null;
  packages?: number;
  built?: boolean;
  kernel?: number | null;
  ok?: boolean;
}

/** The part of `facts` a notebook keeps. */
export function lasting(facts: ICellFacts): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key of LASTING) {
    kept[key] = facts[key] ?? null;
  }
  return kept;
}

/** The header's text: `environment · Python 3.9.18 · built|reused · kernel 123`. */
export function headerText(facts: Partial<ICellFacts>, live: boolean): string {
  const parts = [
    trans().__(
      'ran in %1',
      facts.environment ?? trans().__('an isolated environment')
    )
  ];
  if (facts.python) {
    parts.push(trans().__('Python %1', facts.python));
  }
  if (live && facts.built !== undefined) {
    parts.push(
      facts.built ? trans().__('built for this cell') : trans().__('reused')
    );
  }
  if (live && facts.kernel) {
    parts.push(trans().__('child kernel %1', facts.kernel));
  }
  if (!live) {
    parts.push(trans().__('as recorded'));
  }
  return parts.join(' · ');
}

/** The header's tooltip: the interpreter, the environment's id and its lock. */
export function titleOf(facts: Partial<ICellFacts>): string {
  const lines = [
    trans().__('interpreter: %1', facts.interpreter ?? '?'),
    trans().__('id: %1', facts.id ?? '?')
  ];
  if (facts.lock) {
    lines.push(trans().__('lock: %1', facts.lock));
  }
  return lines.join('\n');
}

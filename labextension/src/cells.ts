/**
 * The `%%isolated ...` line and its place at the top of a cell's source.
 */

/** The magic line that runs a cell in the named environment. */
export function isolatedLine(name: string): string {
  return `%%isolated --env ${name}`;
}

/**
 * A cell source whose first line runs it in the named environment.
 *
 * A cell magic must be the first line, so an existing `%%isolated` line is replaced (the
 * cell moves to the other environment) and any other source is kept below the new line.
 */
export function withIsolatedLine(source: string, name: string): string {
  return withMagicLine(source, isolatedLine(name));
}

/** The magic line that runs a cell with an interpreter used as it is. */
export function pythonLine(path: string): string {
  return /^[\w./+-]+$/.test(path)
    ? `%%isolated --python ${path}`
    : `%%isolated --python '${path.replace(/'/g, "'\"'\"'")}'`;
}

/**
 * A cell source whose first line is `line` (an `%%isolated` line), or, for `null`, without
 * its `%%isolated` line: the cell runs in the notebook's own kernel again.
 */
export function withMagicLine(source: string, line: string | null): string {
  const newline = source.indexOf('\n');
  const first = newline === -1 ? source : source.slice(0, newline);
  if (first.trimStart().startsWith('%%isolated')) {
    if (line === null) {
      return newline === -1 ? '' : source.slice(newline + 1);
    }
    return newline === -1 ? line : line + source.slice(newline);
  }
  if (line === null) {
    return source;
  }
  return source.length > 0 ? `${line}\n${source}` : line;
}

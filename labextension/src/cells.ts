/**
 * The `%%isolated --env NAME` line and its place at the top of a cell's source.
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
  const line = isolatedLine(name);
  const newline = source.indexOf('\n');
  const first = newline === -1 ? source : source.slice(0, newline);
  if (first.trimStart().startsWith('%%isolated')) {
    return newline === -1 ? line : line + source.slice(newline);
  }
  return source.length > 0 ? `${line}\n${source}` : line;
}

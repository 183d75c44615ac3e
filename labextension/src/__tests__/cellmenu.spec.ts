import { pythonLine, withMagicLine } from '../cells';
import { lineFor } from '../cellmenu';

describe('picking where a cell runs', () => {
  it('writes the line for a named environment, an interpreter, or none', () => {
    expect(lineFor({ name: 'analytics' })).toBe('%%isolated --env analytics');
    expect(lineFor({ python: '/usr/bin/python3.9' })).toBe(
      '%%isolated --python /usr/bin/python3.9'
    );
    expect(lineFor({})).toBeNull();
  });

  it("quotes an interpreter's path that has spaces or quotes, as a shell word", () => {
    expect(pythonLine("/opt/my py/it's/python")).toBe(
      `%%isolated --python '/opt/my py/it'"'"'s/python'`
    );
  });

  it('replaces, adds or removes the first line, keeping the code', () => {
    const isolated = '%%isolated --env a\nx = 1';
    expect(withMagicLine(isolated, '%%isolated --env b')).toBe(
      '%%isolated --env b\nx = 1'
    );
    expect(withMagicLine('x = 1', '%%isolated --env b')).toBe(
      '%%isolated --env b\nx = 1'
    );
    expect(withMagicLine(isolated, null)).toBe('x = 1');
    expect(withMagicLine('x = 1', null)).toBe('x = 1');
    expect(withMagicLine('%%isolated --env a', null)).toBe('');
  });
});

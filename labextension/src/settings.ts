/**
 * The extension's settings (schema/plugin.json, the Settings Editor's "isocell"): the new
 * environment form's default Python, builder and index URL, and how often the sidebar reads
 * the list again.
 */
import { ISettingRegistry } from '@jupyterlab/settingregistry';

/** The form's starting values. */
export interface IFormDefaults {
  /** A Python version (`3.9`) or an interpreter path; empty for the server's own. */
  python: string;
  builder: 'uv' | 'virtualenv';
  indexUrl: string;
}

export const NO_DEFAULTS: IFormDefaults = {
  python: '',
  builder: 'uv',
  indexUrl: ''
};

/** What the settings say, with the schema's defaults for what is missing or wrong. */
export function readSettings(composite: Partial<Record<string, unknown>>): {
  defaults: IFormDefaults;
  refreshSeconds: number;
} {
  const text = (key: string) =>
    typeof composite[key] === 'string' ? (composite[key] as string).trim() : '';
  const builder =
    composite.defaultBuilder === 'virtualenv' ? 'virtualenv' : 'uv';
  const seconds = Number(composite.refreshInterval);
  return {
    defaults: {
      python: text('defaultPython'),
      builder,
      indexUrl: text('indexUrl')
    },
    refreshSeconds: Number.isFinite(seconds) && seconds > 0 ? seconds : 0
  };
}

/** Apply `settings` to `target` now and whenever they change. */
export function followSettings(
  settings: ISettingRegistry.ISettings,
  target: { defaults: IFormDefaults; refreshSeconds: number }
): void {
  const apply = () => {
    const read = readSettings(settings.composite as Record<string, unknown>);
    target.refreshSeconds = read.refreshSeconds;
    target.defaults = read.defaults;
  };
  apply();
  settings.changed.connect(apply);
}

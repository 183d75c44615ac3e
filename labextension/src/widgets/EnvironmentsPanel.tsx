/**
 * The "Isolated environments" sidebar, built like Lab's running-sessions panel: a side
 * panel with an id, icon, caption and aria-label, a toolbar, and one view of the model.
 */
import {
  ReactWidget,
  refreshIcon,
  SidePanel,
  Toolbar,
  ToolbarButton,
  UseSignal
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { environmentsIcon } from '../icons';
import { EnvironmentsModel } from '../model';
import { BuildLog } from './BuildLog';
import { CachedList } from './CachedList';
import { CreateForm } from './CreateForm';
import { EnvironmentList } from './EnvironmentList';
import { ExternalForm } from './ExternalForm';
import { KernelList } from './KernelList';
import { trans } from '../i18n';

/** The sidebar's widget id (also its key in the layout restorer). */
export const PANEL_ID = 'isocell-environments';

export class EnvironmentsPanel extends SidePanel {
  constructor(model: EnvironmentsModel, commands: CommandRegistry) {
    super();
    this.id = PANEL_ID;
    this.addClass('jp-isocell-Panel');
    this.title.icon = environmentsIcon;
    this.title.caption = trans().__('Isolated environments');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans().__('Isolated environments'));

    const heading = ReactWidget.create(
      <h2 className="jp-isocell-Title">
        {trans().__('Isolated environments')}
      </h2>
    );
    this.header.addWidget(heading);
    this.addWidget(new EnvironmentsView(model, commands));
    this._model = model;
  }

  /**
   * Read the list each time the sidebar opens; the first time, also the interpreters and
   * the builds already running.
   */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._model.refresh();
    this._poll();
    if (!this._pythonsLoaded) {
      this._pythonsLoaded = true;
      void this._model.loadPythons();
      void this._model.resume();
    }
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    window.clearTimeout(this._timer);
  }

  /** While it shows, read the list again every `refreshSeconds` (the settings). */
  private _poll(): void {
    window.clearTimeout(this._timer);
    const seconds = this._model.refreshSeconds;
    if (seconds > 0) {
      this._timer = window.setTimeout(() => {
        if (this.isVisible) {
          void this._model.refresh().then(() => this._poll());
        }
      }, seconds * 1000);
    }
  }

  private _model: EnvironmentsModel;
  private _pythonsLoaded = false;
  private _timer = 0;
}

/**
 * The list, the builds and the two forms, drawn again when the model changes. Its toolbar
 * (a refresh button) sits in its section's title, as in Lab's running-sessions panel.
 */
class EnvironmentsView extends ReactWidget implements Toolbar.IWidgetToolbar {
  constructor(
    private readonly _model: EnvironmentsModel,
    private readonly _commands: CommandRegistry
  ) {
    super();
    this.addClass('jp-isocell-View');
    this.title.label = trans().__('Environments');
    this.toolbar = new Toolbar();
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: trans().__('Refresh the environments and kernels'),
        onClick: () => void _model.refresh()
      })
    );
  }

  readonly toolbar: Toolbar;

  protected render(): JSX.Element {
    const model = this._model;
    const create = (request: Parameters<EnvironmentsModel['create']>[0]) =>
      model.create(request);
    return (
      <UseSignal signal={model.changed}>
        {() => (
          <>
            {model.error && (
              <p className="jp-isocell-Error" role="alert">
                {model.error}
              </p>
            )}
            <EnvironmentList
              environments={model.environments}
              commands={this._commands}
              api={model.api}
              loading={model.loading}
            />
            <CachedList
              cached={model.cached}
              commands={this._commands}
              api={model.api}
            />
            <KernelList kernels={model.kernels} commands={this._commands} />
            {model.builds.map(build => (
              <BuildLog
                key={build.task.id}
                build={build}
                onDismiss={() => model.dismiss(build.task.id)}
              />
            ))}
            <details className="jp-isocell-Section" open>
              <summary>{trans().__('New environment')}</summary>
              <CreateForm
                pythons={model.pythons}
                onSubmit={create}
                defaults={model.defaults}
                taken={model.environments.map(e => e.name)}
              />
            </details>
            <details className="jp-isocell-Section">
              <summary>{trans().__('Register an interpreter')}</summary>
              <ExternalForm pythons={model.pythons} onSubmit={create} />
            </details>
          </>
        )}
      </UseSignal>
    );
  }
}

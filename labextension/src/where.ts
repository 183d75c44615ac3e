/**
 * Where an isolated cell ran: a compact header on the cell (environment, Python, built or
 * reused, child kernel) and an `isocell` entry in its metadata, saved with the notebook.
 *
 * The kernel tells it on a comm it opens and closes at once during the cell (target
 * `isocell.cell`, isocell/_cell_facts.py), so nothing is added to the cell's outputs. The
 * comm's parent is the cell's execute request: the cell whose output area awaits that
 * request is the one that ran. A notebook opened later shows the header from the metadata.
 */
import { CodeCell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { PanelLayout, Widget } from '@lumino/widgets';

import { COMM_TARGET, headerText, ICellFacts, lasting, titleOf } from './facts';

const HEADER_CLASS = 'jp-isocell-Where';

/** Show `text` in the cell's header, above its outputs (made once per cell). */
export function showHeader(cell: CodeCell, text: string, title: string): void {
  const layout = cell.layout as PanelLayout;
  let header = layout.widgets.find(w => w.hasClass(HEADER_CLASS));
  if (!header) {
    header = new Widget();
    header.addClass(HEADER_CLASS);
    const outputs = layout.widgets.indexOf(
      cell.outputArea.parent ?? cell.outputArea
    );
    layout.insertWidget(
      outputs === -1 ? layout.widgets.length : outputs,
      header
    );
  }
  header.node.textContent = text;
  header.node.title = title;
}

function isIsolated(cell: CodeCell): boolean {
  return cell.model.sharedModel
    .getSource()
    .trimStart()
    .startsWith('%%isolated');
}

/** The code cell of `panel` whose output area awaits the request `msgId`. */
function cellOf(panel: NotebookPanel, msgId: string): CodeCell | null {
  for (const widget of panel.content.widgets) {
    if (
      widget instanceof CodeCell &&
      widget.outputArea.future?.msg.header.msg_id === msgId
    ) {
      return widget;
    }
  }
  return null;
}

function listen(
  panel: NotebookPanel,
  kernel: Kernel.IKernelConnection | null
): void {
  kernel?.registerCommTarget(
    COMM_TARGET,
    (_comm: Kernel.IComm, message: KernelMessage.ICommOpenMsg) => {
      const facts = message.content.data as unknown as ICellFacts;
      const parent = (message.parent_header as KernelMessage.IHeader).msg_id;
      const cell = parent ? cellOf(panel, parent) : null;
      if (!cell) {
        return;
      }
      cell.model.setMetadata('isocell', lasting(facts));
      showHeader(cell, headerText(facts, true), titleOf(facts));
    }
  );
}

function showRecorded(panel: NotebookPanel): void {
  for (const widget of panel.content.widgets) {
    if (!(widget instanceof CodeCell) || !isIsolated(widget)) {
      continue;
    }
    const recorded = widget.model.getMetadata('isocell') as
      Partial<ICellFacts> | undefined;
    if (recorded?.environment) {
      showHeader(widget, headerText(recorded, false), titleOf(recorded));
    }
  }
}

/** Follow every notebook of `tracker`: its kernels' comms, and its recorded cells. */
export function followWhereCellsRan(tracker: INotebookTracker): void {
  tracker.widgetAdded.connect((_, panel) => {
    const session = panel.sessionContext;
    listen(panel, session.session?.kernel ?? null);
    session.kernelChanged.connect((_context, change) =>
      listen(panel, change.newValue)
    );
    void panel.context.ready.then(() => showRecorded(panel));
  });
}

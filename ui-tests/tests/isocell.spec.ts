/**
 * isocell in a real JupyterLab, against the real server extension (start-lab.sh):
 * build an environment from the sidebar, run a cell in it, export the notebook.
 *
 * The tests run in order and share the server: the environment built by the first is
 * used by the next ones. Screenshots go to docs/screenshots/.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import * as path from 'path';

const ENV = 'e2e-six';
const NOTEBOOK = 'demo.ipynb';
const SHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');
const SERVER_PYTHON =
  process.env.PYTHON ??
  path.resolve(__dirname, '..', '..', '.venv', 'bin', 'python');

test.describe.configure({ mode: 'serial' });

async function openSidebar(page: IJupyterLabPageFixture): Promise<Locator> {
  await page.sidebar.openTab('isocell-environments');
  // Wider than Lab's default, so the screenshots read well.
  await page.sidebar.setWidth(320);
  const panel = page.locator('#isocell-environments');
  await expect(panel).toBeVisible();
  return panel;
}

async function openNotebook(page: IJupyterLabPageFixture): Promise<void> {
  // The notebook sits at the server's root, outside the folder Galata gives each test.
  await page.evaluate(async path => {
    // nothing comes back: a widget is no value to serialize
    await window.jupyterapp.commands.execute('docmanager:open', { path });
  }, NOTEBOOK);
  await expect(
    page
      .locator(`.jp-NotebookPanel[aria-label="${NOTEBOOK}"], .jp-NotebookPanel`)
      .first()
  ).toBeVisible();
  await page.notebook.activate(NOTEBOOK);
}

function environmentItem(panel: Locator, name: string): Locator {
  return panel.locator(`.jp-isocell-Environment[data-environment="${name}"]`);
}

test('the sidebar builds an environment and shows its live log', async ({
  page
}) => {
  const panel = await openSidebar(page);
  await expect(panel.getByText('No environment yet')).toBeVisible();

  const picker = panel.getByLabel('Python interpreter');
  await expect(picker.locator('option').first()).toHaveText(
    "The server's Python"
  );
  // The name is checked as it is typed.
  await panel.getByLabel('Environment name').fill('bad name');
  await expect(panel.getByText('Use 1-64 letters')).toBeVisible();
  await expect(
    panel.getByRole('button', { name: 'Create environment' })
  ).toBeDisabled();
  await panel.getByLabel('Environment name').fill(ENV);
  await expect(panel.getByText('Use 1-64 letters')).toHaveCount(0);
  await panel.getByLabel('Requirements, one per line').fill('six==1.16.0');
  // virtualenv + pip rather than uv: a build of several seconds whose log streams in, so
  // the screenshot below catches it running.
  await panel.getByText('Options').click();
  await panel.getByLabel('Builder').selectOption('virtualenv');
  await panel.getByRole('button', { name: 'Create environment' }).click();

  const build = panel.locator('.jp-isocell-Build');
  await expect(build).toBeVisible();
  const log = build.locator('.jp-isocell-Log');
  await expect(log).toContainText('Collecting', { timeout: 60000 });
  const running = await build.evaluate(node =>
    node.classList.contains('jp-mod-running')
  );
  await panel.screenshot({ path: path.join(SHOTS, 'sidebar-build.png') });
  if (!running) {
    console.warn(
      'sidebar-build.png: the build had finished before the screenshot'
    );
  }
  await expect(build.getByRole('progressbar')).toBeVisible();

  await expect(build).toHaveClass(/jp-mod-done/, { timeout: 200000 });
  const item = environmentItem(panel, ENV);
  await expect(item).toBeVisible();
  await expect(item).toContainText('Python 3.');
  await expect(item).toContainText('six==1.16.0');
  await expect(item).toContainText(/\d+ packages?/);
  await expect(item).toContainText(/(KiB|MiB|GiB)/);
  await expect(
    item.getByRole('img', { name: 'No kernel running' })
  ).toBeVisible();
  await build
    .getByRole('button', { name: `Dismiss the build of ${ENV}` })
    .click();
  await expect(build).toHaveCount(0);
  await panel.screenshot({
    path: path.join(SHOTS, 'sidebar-environments.png')
  });
});

test('the sidebar puts "%%isolated --env NAME" into a cell that then runs there', async ({
  page
}) => {
  await openNotebook(page);
  await page.notebook.selectCells(2);
  const panel = await openSidebar(page);
  await environmentItem(panel, ENV).locator('[data-action="insert"]').click();

  const cell = await page.notebook.getCellLocator(2);
  await expect(cell!.locator('.jp-InputArea-editor')).toContainText(
    `%%isolated --env ${ENV}`
  );
  await expect(cell!.locator('.jp-InputArea-editor')).toContainText(
    'import six'
  );

  await page.notebook.run();
  await expect(cell!.locator('.jp-OutputArea-output')).toContainText(
    'six 1.16.0',
    { timeout: 120000 }
  );
  // Where it ran: a header on the cell, and the cell's metadata (saved with the notebook).
  const where = cell!.locator('.jp-isocell-Where');
  await expect(where).toContainText(`ran in ${ENV}`);
  await expect(where).toContainText(
    /Python 3\.\d+\.\d+ · reused · child kernel \d+/
  );
  const recorded = await page.evaluate(() => {
    const panel = window.jupyterapp.shell.currentWidget as unknown as {
      content: { widgets: { model: { getMetadata(key: string): unknown } }[] };
    };
    return panel.content.widgets[2].model.getMetadata('isocell') as {
      environment: string;
      lock: string;
    };
  });
  expect(recorded.environment).toBe(ENV);
  expect(recorded.lock).toMatch(/^sha256:[0-9a-f]{64}$/);
  await cell!.screenshot({ path: path.join(SHOTS, 'where-it-ran.png') });
  await page.notebook.save();

  // The child kernel now runs in that environment, and the kernels list shows it with
  // its notebook (read from the notebook kernel's pool through GET /isocell/kernels).
  await expect(
    environmentItem(panel, ENV).getByRole('img', {
      name: 'A kernel runs in this environment'
    })
  ).toBeVisible();
  const kernels = panel.getByRole('list', { name: 'Running kernels' });
  const child = kernels.locator('.jp-isocell-KernelItem', { hasText: ENV });
  await expect(child).toHaveCount(1);
  await expect(child).toContainText(NOTEBOOK);
  await expect(child).toContainText(/\d+ cells? run/);
  await expect(child).toContainText(/pid \d+/);
  // The status bar counts the child kernels too; a click shows the sidebar.
  await expect(page.locator('.jp-isocell-Status')).toContainText(
    /isocell: \d+ kernels?/
  );
  await panel
    .locator('.jp-isocell-Kernels')
    .screenshot({ path: path.join(SHOTS, 'kernels.png') });
});

test("a cell's context menu and toolbar pick the environment it runs in", async ({
  page
}) => {
  await page.notebook.createNew('pick.ipynb');
  await page.notebook.setCell(0, 'code', 'x = 1');
  const cell = (await page.notebook.getCellLocator(0))!;
  const editor = cell.locator('.jp-InputArea-editor');
  await cell.locator('.jp-InputArea-editor').click({ button: 'right' });
  // Lumino shows a submenu's entry as a list item, not a menuitem.
  await page
    .locator('.lm-Menu-item', { hasText: 'Run in Environment' })
    .hover();
  // The interpreters found are there (and the named environments, when there are some).
  await page
    .getByRole('menuitem', { name: /^Python 3\.\d+\.\d+ \(/ })
    .first()
    .click();
  await expect(editor).toContainText('%%isolated --python /');
  await expect(editor).toContainText('x = 1');
  await cell.screenshot({ path: path.join(SHOTS, 'cell-environment.png') });

  // The cell toolbar's button opens the same menu: back to the notebook's own kernel.
  await cell.click();
  await cell.locator('[data-command="isocell:pick-environment"]').click();
  await page
    .getByRole('menuitem', { name: "The Notebook's Kernel (no %%isolated)" })
    .click();
  await expect(editor).not.toContainText('%%isolated');
  await expect(editor).toContainText('x = 1');
});

test('the copy button puts the line on the clipboard', async ({
  page,
  context
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const panel = await openSidebar(page);
  await environmentItem(panel, ENV).locator('[data-action="copy"]').click();
  await expect(
    page.locator('.jp-toast-message').filter({ hasText: 'Copied' })
  ).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(`%%isolated --env ${ENV}`);
});

test('the toolbar button exports the notebook and opens the DAG file', async ({
  page
}) => {
  await openNotebook(page);
  const button = page.locator(
    '.jp-NotebookPanel-toolbar [data-command="isocell:export-dag"]'
  );
  await expect(button).toBeVisible();
  await button.click();

  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.getByLabel('DAG id')).toHaveValue('demo');
  await dialog.getByLabel('Schedule').selectOption('@daily');
  await dialog.getByLabel('Airflow version').selectOption('3');
  await expect(dialog.getByLabel('Output folder')).toHaveValue('dags');
  await dialog.getByLabel('Start date').fill('2025-03-04');
  await dialog.getByRole('button', { name: 'Export' }).click();

  const editor = page.locator('.jp-FileEditor');
  await expect(editor).toBeVisible();
  await expect(editor).toContainText('dag_id');
  await expect(
    page.locator('.jp-toast-message').filter({ hasText: 'written to' })
  ).toBeVisible();
  const tab = page.locator(
    '.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current'
  );
  await expect(tab).toContainText('.py');
  await expect(editor).toContainText('pendulum.datetime(2025, 3, 4');
  await page.screenshot({ path: path.join(SHOTS, 'export-dag.png') });

  // Exporting again asks before replacing the DAG file, and keeps it when told to.
  await openNotebook(page);
  await button.click();
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Export' })
    .click();
  const confirm = page
    .locator('.jp-Dialog')
    .filter({ hasText: 'Replace the DAG file?' });
  await expect(confirm).toContainText('dags/demo.py exists');
  await confirm.getByRole('button', { name: 'Keep it' }).click();
  await expect(confirm).toHaveCount(0);
});

test('an export error names the cell it concerns', async ({ page }) => {
  await openNotebook(page);
  // A fourth cell (index 3 on the wire) whose code does not parse: "cell 4", as people count.
  await page.notebook.addCell('code', '%%isolated\nbroken = (1 +');
  await page
    .locator('.jp-NotebookPanel-toolbar [data-command="isocell:export-dag"]')
    .click();
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Export' })
    .click();
  const toast = page
    .locator('.jp-toast-message')
    .filter({ hasText: 'Export to Airflow failed' });
  await expect(toast).toBeVisible();
  await expect(toast).toContainText('cell 4');
  await expect(toast).not.toContainText('cell 3');
  await page.getByRole('button', { name: 'Show cell' }).click();
  await expect(
    page.locator('.jp-Notebook .jp-Cell.jp-mod-active')
  ).toContainText('broken = (1 +');
});

test('an interpreter is registered, then removed after a confirmation', async ({
  page
}) => {
  const panel = await openSidebar(page);
  // By keyboard: the section opens with Enter on its summary.
  await panel.getByText('Register an interpreter').focus();
  await page.keyboard.press('Enter');
  await panel.getByLabel('Interpreter name').fill('e2e-external');
  await panel.getByLabel('Interpreter path').fill(SERVER_PYTHON);
  await panel.getByRole('button', { name: 'Register interpreter' }).click();
  const item = environmentItem(panel, 'e2e-external');
  await expect(item).toContainText('external');

  await item.locator('[data-action="remove"]').focus();
  await page.keyboard.press('Enter');
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Remove environment "e2e-external"?');
  await dialog.getByRole('button', { name: 'Remove' }).click();
  await expect(item).toHaveCount(0);
  await expect(environmentItem(panel, ENV)).toBeVisible();
});

test('the command palette and the File menu offer the export', async ({
  page
}) => {
  await openNotebook(page);
  await page.menu.open('File');
  await expect(
    page.locator('.lm-Menu-itemLabel', {
      hasText: 'Export Notebook to Airflow DAG…'
    })
  ).toBeVisible();
  await page.keyboard.press('Escape');
  const ids = await page.evaluate(() =>
    window.jupyterapp.commands.listCommands()
  );
  expect(ids).toEqual(
    expect.arrayContaining(['isocell:export-dag', 'isocell:show-environments'])
  );
  await page.evaluate(() =>
    window.jupyterapp.commands.execute('isocell:show-environments')
  );
  await expect(page.locator('#isocell-environments')).toBeVisible();
});

test('a widget and input() from isolated cells work as from local cells', async ({
  page
}) => {
  // The server's own interpreter, used as it is: it has ipywidgets, and nothing is built.
  const isolated = `%%isolated --python ${SERVER_PYTHON}\n`;
  await page.notebook.createNew('widgets.ipynb');
  // Each cell runs in place (Ctrl+Enter): Shift+Enter would add an empty cell below.
  await page.notebook.setCell(0, 'code', '%load_ext isocell');
  await page.notebook.runCell(0, true);

  // A slider made in the child renders in the notebook (its comms reach the frontend) ...
  await page.notebook.addCell(
    'code',
    isolated +
      'import ipywidgets\nslider = ipywidgets.IntSlider(value=3)\nslider'
  );
  await page.notebook.runCell(1, true);
  const widgetCell = (await page.notebook.getCellLocator(1))!;
  const readout = widgetCell.locator('.widget-readout');
  await expect(readout).toHaveText('3', { timeout: 120000 });
  await expect(widgetCell.locator('.jp-OutputArea-output')).not.toContainText(
    'not found'
  );
  // ... and moving it reaches the child's widget.
  await widgetCell.locator('.noUi-handle').focus();
  await page.keyboard.press('ArrowRight');
  await expect(readout).toHaveText('4');
  await page.notebook.addCell('code', isolated + 'print(slider.value)');
  await page.notebook.runCell(2, true);
  const valueCell = (await page.notebook.getCellLocator(2))!;
  await expect(valueCell.locator('.jp-OutputArea-output')).toContainText('4');

  // input() in the child asks the notebook's frontend for the line.
  await page.notebook.addCell(
    'code',
    isolated + "name = input('name? ')\nprint('hello', name)"
  );
  const running = page.notebook.runCell(3, true);
  const box = page.locator('.jp-Stdin-input');
  await expect(box).toBeVisible({ timeout: 60000 });
  await box.fill('Ada');
  await box.press('Enter');
  await running;
  const inputCell = (await page.notebook.getCellLocator(3))!;
  await expect(inputCell.locator('.jp-OutputArea-output').last()).toContainText(
    'hello Ada'
  );
});

test('a build a cell starts shows its steps and a bar, then one summary line', async ({
  page
}) => {
  await page.notebook.createNew('build.ipynb');
  await page.notebook.setCell(0, 'code', '%load_ext isocell');
  await page.notebook.runCell(0, true);
  // virtualenv + pip: a build of several seconds, so the live view can be seen.
  await page.notebook.addCell(
    'code',
    '%%isolated --req six==1.15.0 --builder virtualenv\nimport six\nprint(six.__version__)'
  );
  const panel = await openSidebar(page);
  const running = page.notebook.runCell(1, true);
  const cell = (await page.notebook.getCellLocator(1))!;
  const build = cell.locator('.jp-isocell-Build');
  await expect(build.locator('li[data-status="active"]')).toHaveCount(1, {
    timeout: 60000
  });
  await expect(
    build.getByRole('progressbar', { name: 'Build progress' })
  ).toBeVisible();
  await build.screenshot({ path: path.join(SHOTS, 'build-progress.png') });
  await running;
  await expect(build.locator('.jp-isocell-Build-summary')).toContainText(
    'isocell: environment ready',
    { timeout: 120000 }
  );
  await expect(build.locator('ol')).toHaveCount(0);
  await expect(build.locator('details summary')).toContainText('Build log');
  await expect(cell.locator('.jp-OutputArea-output').last()).toContainText(
    '1.15.0'
  );
  // The sidebar followed the cell's build too, with its log. (The notebook's name is the
  // one its kernel started with: Galata names a new notebook after starting its kernel.)
  const inSidebar = panel.getByRole('region', {
    name: /^Building for a cell of .*\.ipynb$/
  });
  await expect(inSidebar).toBeVisible();
  await expect(inSidebar.locator('.jp-isocell-Build-cell')).toHaveText(
    '%%isolated --req six==1.15.0 --builder virtualenv'
  );
  await expect(inSidebar.locator('.jp-isocell-Build-status')).toContainText(
    'built',
    { timeout: 30000 }
  );
  await inSidebar.getByText(/^Build log \(\d+ lines\)$/).click();
  await expect(inSidebar.getByRole('log')).toContainText('six');
  await expect(inSidebar.locator('.jp-isocell-Build-status')).toContainText(
    'built'
  );
});

test('a shortcut opens the sidebar, whose form starts from the settings', async ({
  page
}) => {
  await page.keyboard.press('Control+Alt+I');
  await expect(page.locator('#isocell-environments')).toBeVisible();
  // The Settings Editor's "isocell" (schema/plugin.json), set through the settings API.
  await page.evaluate(async () => {
    const registry = window.jupyterapp.serviceManager.settings;
    const raw = JSON.stringify({
      defaultBuilder: 'virtualenv',
      indexUrl: 'https://example.org/simple'
    });
    await registry.save('isocell:plugin', raw);
  });
  await page.reload();
  const panel = await openSidebar(page);
  await expect(panel.getByLabel('Builder')).toHaveValue('virtualenv');
  await expect(panel.getByLabel('Index URL')).toHaveValue(
    'https://example.org/simple'
  );
  await page.evaluate(async () => {
    await window.jupyterapp.serviceManager.settings.save(
      'isocell:plugin',
      '{}'
    );
  });
});

test('child kernels show in the Running panel and restart and stop from there and the sidebar', async ({
  page
}) => {
  await page.notebook.createNew('kernels.ipynb');
  await page.notebook.setCell(0, 'code', '%load_ext isocell');
  await page.notebook.runCell(0, true);
  await page.notebook.addCell(
    'code',
    `%%isolated --env ${ENV}\nimport os\nprint("child", os.getpid())`
  );
  await page.notebook.runCell(1, true);
  const output = (await page.notebook.getCellLocator(1))!.locator(
    '.jp-OutputArea-output'
  );
  await expect(output).toContainText(/child \d+/, { timeout: 120000 });
  const first = Number((await output.innerText()).match(/child (\d+)/)![1]);

  // Restart from the sidebar: through the notebook's kernel, a fresh child at once.
  const panel = await openSidebar(page);
  const kernels = panel.getByRole('list', { name: 'Running kernels' });
  const mine = kernels.locator(`.jp-isocell-KernelItem[data-pid="${first}"]`);
  await expect(mine).toHaveCount(1);
  await mine.getByRole('button', { name: /^Restart / }).click();
  await expect(page.locator('.Toastify')).toContainText('Restarted');
  await expect(mine).toHaveCount(0);
  // (The notebook is named as its kernel was told at start: Galata names it afterwards.)
  const fresh = kernels.locator('.jp-isocell-KernelItem', {
    hasText: '0 cells run'
  });
  await expect(fresh).toHaveCount(1);
  await expect(fresh).toContainText(ENV);
  const second = await fresh.getAttribute('data-pid');

  // Lab's Running panel lists it beside the notebooks' kernels; Stop ends it.
  await page.sidebar.openTab('jp-running-sessions');
  const running = page.locator('#jp-running-sessions');
  const section = running.getByRole('region', {
    name: 'Isolated Cell Kernels Section'
  });
  const row = section.locator(`.jp-isocell-pid-${second}`);
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(`${ENV} (Python 3.`);
  await page.sidebar.setWidth(360);
  await running.screenshot({ path: path.join(SHOTS, 'running-kernels.png') });
  await page.theme.setDarkTheme();
  await running.screenshot({
    path: path.join(SHOTS, 'running-kernels-dark.png')
  });
  await page.theme.setLightTheme();
  await row.hover();
  await row.getByTitle('Stop').click();
  await expect(row).toHaveCount(0);

  // The notebook goes on in a fresh child.
  await page.notebook.runCell(1, true);
  await expect(output).toContainText(/child \d+/, { timeout: 120000 });
  const third = Number((await output.innerText()).match(/child (\d+)/)![1]);
  expect(third).not.toBe(first);
});

test("the sidebar lists the cells' own environments with their details, and removes unused ones", async ({
  page
}) => {
  await page.notebook.createNew('cached.ipynb');
  await page.notebook.setCell(0, 'code', '%load_ext isocell');
  await page.notebook.runCell(0, true);
  await page.notebook.addCell(
    'code',
    '%%isolated --req six==1.14.0\nimport six\nprint(six.__version__)'
  );
  await page.notebook.runCell(1, true);
  const output = (await page.notebook.getCellLocator(1))!.locator(
    '.jp-OutputArea-output'
  );
  await expect(output.last()).toContainText('1.14.0', { timeout: 120000 });

  const panel = await openSidebar(page);
  // A named environment's details: its folder, lock and build log, read when opened.
  const named = environmentItem(panel, ENV);
  await named.getByLabel(`Details of ${ENV}`).click();
  await expect(named.getByLabel(`Lock of ${ENV}`)).toContainText('six==1.16.0');
  await named.getByText(/^Build log \(\d+ lines\)$/).click();
  await expect(
    named.getByRole('log', { name: `Build log of ${ENV}` })
  ).toContainText('six');

  // The cell's own environment, unnamed, with its size and a kernel running in it.
  const section = panel.locator('.jp-isocell-Cached');
  await section.locator('summary').first().click();
  const item = section.locator('.jp-isocell-CachedItem', {
    hasText: 'six==1.14.0'
  });
  await expect(item).toHaveCount(1);
  await expect(item).toContainText('kernel running');
  await expect(
    section.locator('.jp-isocell-CachedItem', { hasText: 'kernel layer' })
  ).not.toHaveCount(0);
  const label = /Details of Python 3\.\d+\.\d+ with six==1\.14\.0/;
  await item.getByLabel(label).click();
  await expect(item.getByLabel(/Lock of Python/)).toContainText('six==1.14.0');
  await section.screenshot({
    path: path.join(SHOTS, 'cached-environments.png')
  });
  await page.theme.setDarkTheme();
  await section.screenshot({
    path: path.join(SHOTS, 'cached-environments-dark.png')
  });
  await page.theme.setLightTheme();

  // Once its kernel stops, "Remove Unused…" says what goes and removes it.
  await page.notebook.addCell('code', '%isocell stop');
  await page.notebook.runCell(2, true);
  await panel
    .getByRole('button', { name: 'Refresh the environments and kernels' })
    .click();
  await expect(item).not.toContainText('kernel running');
  await section.getByRole('button', { name: 'Remove Unused…' }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText(
    /Remove \d+ unused cached environments?\?/
  );
  await expect(dialog).toContainText('six==1.14.0');
  await dialog.getByRole('button', { name: 'Remove' }).click();
  await expect(page.locator('.Toastify')).toContainText(
    /Removed \d+ cached environments?,/
  );
  await expect(item).toHaveCount(0);
  // named environments stay
  await expect(environmentItem(panel, ENV)).toHaveCount(1);
});

test('a failed build shows its cause once, the log folded behind a toggle', async ({
  page
}) => {
  const panel = await openSidebar(page);
  await panel.getByLabel('Environment name').fill('e2e-broken');
  await panel
    .getByLabel('Requirements, one per line')
    .fill('isocell-no-such-package-xyz==1');
  await panel.getByRole('button', { name: 'Create environment' }).click();
  const build = panel.getByRole('region', { name: 'Building e2e-broken' });
  await expect(build).toHaveClass(/jp-mod-failed/, { timeout: 120000 });
  const alert = build.getByRole('alert');
  await expect(alert).toHaveCount(1);
  // the cause first: the resolver's own words, naming the package
  await expect(alert.locator('.jp-isocell-Error-cause')).toContainText(
    'isocell-no-such-package-xyz'
  );
  const log = build.getByRole('log');
  await expect(log).toBeHidden();
  await expect(build.getByText(/^Build log \(\d+ lines\)$/)).toBeVisible();
  // compact: the failure does not push the form out of the sidebar
  const box = await build.boundingBox();
  expect(box!.height).toBeLessThan(320);
  await build.screenshot({ path: path.join(SHOTS, 'build-failed.png') });
  await page.theme.setDarkTheme();
  await build.screenshot({ path: path.join(SHOTS, 'build-failed-dark.png') });
  await page.theme.setLightTheme();
  await build.getByText(/^Build log \(\d+ lines\)$/).click();
  await expect(log).toBeVisible();
  await build
    .getByRole('button', { name: 'Dismiss the build of e2e-broken' })
    .click();
  await expect(build).toHaveCount(0);
  await expect(environmentItem(panel, 'e2e-broken')).toHaveCount(0);
});

/** Relative luminance (0 black .. 1 white) of a CSS colour `rgb(r, g, b[, a])`. */
function luminance(colour: string): number {
  const [r, g, b] = (colour.match(/[\d.]+/g) ?? ['255', '255', '255'])
    .slice(0, 3)
    .map(Number)
    .map(v => v / 255)
    .map(v => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The colour behind `locator`'s element: its own background, or its nearest ancestor's. */
async function backgroundOf(locator: Locator): Promise<string> {
  return locator.evaluate(node => {
    for (let at: Element | null = node; at; at = at.parentElement) {
      const colour = getComputedStyle(at).backgroundColor;
      if (colour && colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') {
        return colour;
      }
    }
    return 'rgb(255, 255, 255)';
  });
}

/** In the dark theme: dark behind `locator`, light text on it. */
async function expectDark(locator: Locator): Promise<void> {
  await expect(locator.first()).toBeVisible();
  const background = luminance(await backgroundOf(locator.first()));
  const text = luminance(
    await locator.first().evaluate(node => getComputedStyle(node).color)
  );
  expect(background).toBeLessThan(0.1);
  expect(text).toBeGreaterThan(background + 0.3);
}

test('every isocell view follows the dark theme', async ({ page }) => {
  await page.theme.setDarkTheme();
  await page.notebook.createNew('dark.ipynb');
  await page.notebook.setCell(0, 'code', '%load_ext isocell');
  await page.notebook.runCell(0, true);
  // a build a cell starts (a new environment), and where the cell ran
  await page.notebook.addCell(
    'code',
    '%%isolated --req six==1.12.0\nimport six\nprint(six.__version__)'
  );
  await page.notebook.runCell(1, true);
  const cell = (await page.notebook.getCellLocator(1))!;
  await expect(cell.locator('.jp-OutputArea-output').last()).toContainText(
    '1.12.0',
    { timeout: 120000 }
  );
  const summary = cell.locator('.jp-isocell-Build-summary');
  await expectDark(summary);
  await expectDark(cell.locator('.jp-isocell-Where'));
  await cell.screenshot({ path: path.join(SHOTS, 'cell-dark.png') });

  // the cell's environment menu
  await cell.locator('.jp-InputArea-editor').click({ button: 'right' });
  await page
    .locator('.lm-Menu-item', { hasText: 'Run in Environment' })
    .hover();
  await expectDark(
    page.getByRole('menuitem', { name: /^Python 3\.\d+\.\d+ \(/ })
  );
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');

  // the sidebar: environments, cached ones with their details, kernels, the form
  const panel = await openSidebar(page);
  await expectDark(panel.locator('.jp-isocell-Environment-name'));
  await panel.locator('.jp-isocell-Cached summary').first().click();
  await expectDark(panel.locator('.jp-isocell-CachedItem'));
  await expectDark(panel.locator('.jp-isocell-KernelItem'));
  await expectDark(panel.getByLabel('Environment name'));
  await panel.screenshot({ path: path.join(SHOTS, 'sidebar-dark.png') });

  // the export dialog
  await page.notebook.activate('dark.ipynb');
  await page
    .locator('.jp-NotebookPanel-toolbar [data-command="isocell:export-dag"]')
    .click();
  const dialog = page.locator('.jp-Dialog');
  await expectDark(dialog.getByLabel('DAG id'));
  await expectDark(dialog.getByText('Start date'));
  await dialog
    .locator('.jp-Dialog-content')
    .screenshot({ path: path.join(SHOTS, 'export-dialog-dark.png') });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await page.theme.setLightTheme();
});

test('the export dialog exports the prebuilt target with a Dockerfile on the image asked for', async ({
  page
}) => {
  await page.notebook.createNew('prebuilt.ipynb');
  await page.notebook.setCell(
    0,
    'code',
    `%%isolated --env ${ENV}\nimport six\nversion = six.__version__`
  );
  await page.notebook.save();
  await page
    .locator('.jp-NotebookPanel-toolbar [data-command="isocell:export-dag"]')
    .click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.getByLabel('Base image')).toHaveCount(0);
  await dialog.getByLabel('Environments').selectOption('prebuilt');
  await dialog.getByLabel('Base image').fill('apache/airflow:3.1.0');
  await dialog.getByLabel('Output folder').fill('dags-prebuilt');
  await dialog.getByRole('button', { name: 'Export' }).click();
  await expect(
    page.locator('.jp-toast-message').filter({ hasText: 'written to' })
  ).toBeVisible({ timeout: 120000 });
  const editor = page.locator('.jp-FileEditor');
  await expect(editor).toContainText('@task.external_python(');
  const dockerfile = await page.evaluate(async () => {
    const contents = window.jupyterapp.serviceManager.contents;
    const model = await contents.get('dags-prebuilt/Dockerfile', {
      content: true
    });
    return model.content as string;
  });
  expect(dockerfile).toContain('FROM apache/airflow:3.1.0');
  // named after the cell's environment
  expect(dockerfile).toContain(`ENV ASTRO_PYENV_${ENV.replace(/\W/g, '_')}=`);
});

test('the export dialog exports the kubernetes target with its namespace, registry and resources', async ({
  page
}) => {
  await page.notebook.createNew('pods.ipynb');
  await page.notebook.setCell(
    0,
    'code',
    `%%isolated --env ${ENV}\nimport six\nversion = six.__version__`
  );
  await page.notebook.save();
  await page
    .locator('.jp-NotebookPanel-toolbar [data-command="isocell:export-dag"]')
    .click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.getByLabel('Namespace')).toHaveCount(0);
  await dialog.getByLabel('Environments').selectOption('kubernetes');
  await expect(dialog.getByLabel('Data dir')).toHaveAttribute(
    'placeholder',
    /fsspec URL/
  );
  await dialog.getByLabel('Data dir').fill('s3://bucket/isocell');
  await dialog.getByLabel('Namespace').fill('data-team');
  await dialog.getByLabel('Image registry').fill('registry.example.com/team');
  await dialog.getByLabel('Resources').fill('cpu=500m,memory=1Gi');
  await dialog.getByLabel('Output folder').fill('dags-pods');
  await dialog.getByRole('button', { name: 'Export' }).click();
  await expect(
    page.locator('.jp-toast-message').filter({ hasText: 'written to' })
  ).toBeVisible({ timeout: 120000 });
  const editor = page.locator('.jp-FileEditor');
  await expect(editor).toContainText('@task.kubernetes(');
  await expect(editor).toContainText('NAMESPACE = "data-team"');
  await expect(editor).toContainText('image="registry.example.com/team/pods-');
  await expect(editor).toContainText('"memory": "1Gi"');
  const dockerfile = await page.evaluate(async (name: string) => {
    const contents = window.jupyterapp.serviceManager.contents;
    const model = await contents.get(`dags-pods/images/${name}.Dockerfile`, {
      content: true
    });
    return model.content as string;
  }, ENV);
  expect(dockerfile).toMatch(/FROM python:3\.\d+-slim/);
});

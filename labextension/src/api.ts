/**
 * Typed calls to isocell's REST API (`isocell.server`).
 *
 * Field names keep the server's spelling (snake_case), so a field reads the same here, in
 * the Python handlers and in the API's description. Every answer is checked on arrival:
 * a server that sends an unexpected shape fails here with a message naming the field,
 * not later in a widget.
 */
import { ServerConnection } from '@jupyterlab/services';

import { IsocellRequestError, requestAPI } from './request';
import { trans } from './i18n';

/** One environment, as listed by `GET /isocell/envs` (`?all=1`: the cached ones too). */
export interface IEnvironment {
  /** Empty for an environment no name refers to (`cached`, `layer`). */
  name: string;
  /**
   * `spec`: built by isocell from requirements; `external`: a registered interpreter;
   * `cached`: built for a cell's own `--req`/`--python`, unnamed; `layer`: the child
   * kernel's own packages for one Python, shared by its environments.
   */
  kind: 'spec' | 'external' | 'cached' | 'layer';
  /** The content address of what isocell built (`null` for an external interpreter). */
  key: string | null;
  /** The interpreter's absolute path. */
  python: string;
  python_version: string;
  requirements: string[];
  /** How many packages are installed. */
  packages: number;
  /** Size on disk in bytes; `null` when unknown (external interpreters). */
  size_bytes: number | null;
  /** ISO 8601 time stamps. */
  created: string;
  last_used: string | null;
  built: boolean;
  /** Whether a child kernel runs in this environment now. */
  kernel_running: boolean;
}

/** One environment with its lock (`GET /isocell/envs/{name}`, `GET /isocell/cache/{key}`). */
export interface IEnvironmentDetail extends IEnvironment {
  /** The resolved, pinned requirements (`name==version` lines). */
  lock: string[];
  /** Its folder (an external interpreter's prefix). */
  path: string;
  /** `uv` or `virtualenv`; `null` for an external interpreter. */
  builder: string | null;
  /** ISO 8601, when it was built. */
  built_at: string | null;
  /** The release-date cut-off the resolver used, if any. */
  exclude_newer: string | null;
  /** The end of the builder's log (empty for an external interpreter). */
  build_log: string;
}

/** What `POST /isocell/cache/prune` removed (or would remove, in a dry run). */
export interface IPruneResult {
  removed: IEnvironment[];
  freed_bytes: number;
  dry_run: boolean;
}

/**
 * A build or rebuild running on the server (`GET /isocell/tasks/{id}`), or a build a
 * notebook's cell started (`kind` `cell`).
 */
export interface ITask {
  id: string;
  kind: 'build' | 'rebuild' | 'cell';
  /** The environment's name; for a cell's build, the cell's magic line. */
  name: string;
  /** The notebook whose cell started the build, when its kernel knows it. */
  notebook: string | null;
  state: 'running' | 'done' | 'failed';
  /** What the build is doing now, e.g. `resolving`, `installing`. */
  phase: string;
  /** Packages resolved or installed so far; `null` before that is known. */
  packages: number | null;
  /** Seconds since the task started. */
  elapsed: number;
  /** The log lines from `log_offset` on. */
  log: string[];
  /** The index of `log[0]` in the whole log. */
  log_offset: number;
  /** Why it failed: a message a person can act on, starting with `cause` when known. */
  error: string | null;
  /** The builder's own words of why it failed (the start of `error`), when known. */
  cause: string | null;
  /** The environment, once built. */
  environment: IEnvironment | null;
}

/** An interpreter the server found (`GET /isocell/pythons`). */
export interface IPython {
  version: string;
  path: string;
  /** Where it was found, e.g. `pyenv`, `PATH`. */
  source: string;
}

/**
 * A child kernel that some notebook's `%%isolated` cells run in (`GET /isocell/kernels`):
 * the record `%isocell kernels` prints in that notebook.
 */
export interface IKernel {
  /** The environment's label (its name, or its Python and requirements). */
  environment: string;
  /** The environment's registered name, if any. */
  name: string | null;
  /** The child's Python executable. */
  interpreter: string;
  python_version: string;
  pid: number;
  /** When it started, seconds since the epoch. */
  started: number;
  cells_run: number;
  /** Resident memory in bytes; `null` when unknown. */
  memory_bytes: number | null;
  /** The process id of the notebook kernel whose child it is. */
  owner_pid: number;
  /** That notebook's path, when its kernel knows it. */
  notebook: string | null;
}

/** The body of `POST /isocell/envs`. */
export interface ICreateRequest {
  name: string;
  /** A version (`3.9`), an interpreter path, or `null` for the server's Python. */
  python: string | null;
  requirements: string[];
  system_site_packages?: boolean;
  index_url?: string;
  extra_index_urls?: string[];
  /** Resolve as of this date (uv's `--exclude-newer`), e.g. `2022-09-01`. */
  exclude_newer?: string;
  builder?: 'uv' | 'virtualenv';
  /** Register the interpreter at `python` instead of building. */
  external?: boolean;
}

/** What `POST /isocell/envs` started: a build task, or an environment at once (external). */
export type CreateResult = { task: ITask } | { environment: IEnvironment };

/** The options of `POST /isocell/export`. */
export interface IExportRequest {
  /** The notebook's path relative to the server root. */
  path: string;
  dag_id?: string;
  /** `null`/absent for no schedule, a preset such as `@daily`, or a cron expression. */
  schedule?: string | null;
  airflow?: 3 | 2;
  /** A folder (or a `.py` path) relative to the server root; default `dags/` beside it. */
  output?: string;
  /** `YYYY-MM-DD`, the DAG's start date. */
  start_date?: string;
  /** Where the tasks' values are kept between tasks (a folder or a URL). */
  data_dir?: string;
  /** Replace a DAG file that exists; `false`: a `DagFileExistsError` instead. */
  overwrite?: boolean;
  /** `virtualenv` (the default), `prebuilt` (environments built into the image) or
   * `kubernetes` (a pod per isolated cell, an image per environment). */
  target?: 'virtualenv' | 'prebuilt' | 'kubernetes';
  /** The Airflow image the prebuilt target builds on. */
  base_image?: string;
  /** The kubernetes target's namespace, image registry prefix and container resources. */
  namespace?: string;
  registry?: string;
  resources?: string;
}

/** The answer of a successful export. */
export interface IExportResult {
  /** The DAG file's path relative to the server root. */
  dag_file: string;
  dag_id: string;
  /** The task ids of the DAG. */
  tasks: string[];
  /** Every file written (relative paths). */
  files: string[];
  /** The DAG file's text. */
  text: string;
}

/** A thrown export failure: where in the notebook it comes from, when known. */
export class ExportError extends IsocellRequestError {
  constructor(
    message: string,
    status: number,
    body: Readonly<Record<string, unknown>>,
    /** The cell the error concerns (as the server numbers it), if any. */
    readonly cell: number | null,
    /** The line within that cell, if any. */
    readonly line: number | null
  ) {
    super(message, status, body);
    this.name = 'ExportError';
  }
}

/** The DAG file an export would write exists, and it was asked not to replace it. */
export class DagFileExistsError extends IsocellRequestError {
  constructor(
    message: string,
    status: number,
    body: Readonly<Record<string, unknown>>,
    /** The DAG file, relative to the server root. */
    readonly dagFile: string
  ) {
    super(message, status, body);
    this.name = 'DagFileExistsError';
  }
}

/** The REST API bound to one server connection. */
export class IsocellAPI {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** The named environments; `all`: also those cells built and the kernel layers. */
  async listEnvironments(all = false): Promise<IEnvironment[]> {
    const body = asObject(
      await this._call(all ? 'envs?all=1' : 'envs'),
      'answer'
    );
    return asArray(body.environments, 'environments').map((row, index) =>
      parseEnvironment(row, `environments[${index}]`)
    );
  }

  async getEnvironment(name: string): Promise<IEnvironmentDetail> {
    const body = asObject(
      await this._call(`envs/${encodeURIComponent(name)}`),
      'answer'
    );
    return parseDetail(body.environment);
  }

  /** A cell's cached environment (`GET /isocell/cache/{key}`). */
  async getCached(key: string): Promise<IEnvironmentDetail> {
    const body = asObject(
      await this._call(`cache/${encodeURIComponent(key)}`),
      'answer'
    );
    return parseDetail(body.environment);
  }

  /** Delete a cell's cached environment; 409 while a child kernel runs in it. */
  async removeCached(key: string): Promise<void> {
    await this._call(`cache/${encodeURIComponent(key)}`, { method: 'DELETE' });
  }

  /** Remove the cached environments no kernel runs in (`dry_run`: only say which). */
  async prune(
    options: { unused_days?: number; dry_run?: boolean } = {}
  ): Promise<IPruneResult> {
    const body = asObject(
      await this._call('cache/prune', post(options)),
      'answer'
    );
    return {
      removed: asArray(body.removed, 'removed').map((row, index) =>
        parseEnvironment(row, `removed[${index}]`)
      ),
      freed_bytes: asNumber(body.freed_bytes, 'freed_bytes'),
      dry_run: Boolean(body.dry_run)
    };
  }

  async createEnvironment(request: ICreateRequest): Promise<CreateResult> {
    const body = asObject(await this._call('envs', post(request)), 'answer');
    if (body.task !== undefined) {
      return { task: parseTask(body.task, 'task') };
    }
    return { environment: parseEnvironment(body.environment, 'environment') };
  }

  async removeEnvironment(name: string): Promise<void> {
    await this._call(`envs/${encodeURIComponent(name)}`, { method: 'DELETE' });
  }

  async rebuildEnvironment(name: string): Promise<ITask> {
    const path = `envs/${encodeURIComponent(name)}/rebuild`;
    const body = asObject(await this._call(path, post({})), 'answer');
    return parseTask(body.task, 'task');
  }

  /** The task with its log lines from `since` on. */
  async getTask(id: string, since = 0): Promise<ITask> {
    const path = `tasks/${encodeURIComponent(id)}?since=${since}`;
    const body = asObject(await this._call(path), 'answer');
    return parseTask(body.task, 'task');
  }

  /** The builds the server remembers, without their logs (`GET /isocell/tasks`). */
  async listTasks(): Promise<ITask[]> {
    const body = asObject(await this._call('tasks'), 'answer');
    return asArray(body.tasks, 'tasks').map((raw, index) =>
      parseTask(raw, `tasks[${index}]`)
    );
  }

  async listPythons(): Promise<IPython[]> {
    const body = asObject(await this._call('pythons'), 'answer');
    return asArray(body.pythons, 'pythons').map((raw, index) => {
      const where = `pythons[${index}]`;
      const python = asObject(raw, where);
      return {
        version: asString(python.version, `${where}.version`),
        path: asString(python.path, `${where}.path`),
        source: asString(python.source, `${where}.source`)
      };
    });
  }

  /** Stop a child kernel (`DELETE /isocell/kernels/{pid}`); its notebook starts a fresh
   * one for its next isolated cell in that environment. */
  async stopKernel(pid: number): Promise<void> {
    await this._call(`kernels/${pid}`, { method: 'DELETE' });
  }

  /**
   * Restart a child kernel through its notebook kernel (`%isocell restart` there).
   *
   * @returns `restarted`, or `queued` when that notebook is busy (the restart runs when
   *   its cell ends)
   * @throws {IsocellRequestError} 409 when this server does not run that notebook kernel
   */
  async restartKernel(pid: number): Promise<'restarted' | 'queued'> {
    const body = asObject(
      await this._call(`kernels/${pid}/restart`, post({})),
      'answer'
    );
    return body.state === 'queued' ? 'queued' : 'restarted';
  }

  /** The child kernels of every notebook, oldest first. */
  async listKernels(): Promise<IKernel[]> {
    const body = asObject(await this._call('kernels'), 'answer');
    return asArray(body.kernels, 'kernels').map((raw, index) =>
      parseKernel(raw, `kernels[${index}]`)
    );
  }

  /**
   * Export a saved notebook to an Airflow DAG file.
   *
   * @throws {ExportError} when the notebook cannot be exported (`400`), carrying the
   *   cell and line the server named
   */
  async exportNotebook(request: IExportRequest): Promise<IExportResult> {
    let answer: unknown;
    try {
      answer = await this._call('export', post(request));
    } catch (error) {
      if (error instanceof IsocellRequestError && error.status === 409) {
        const file = error.body.dag_file;
        throw new DagFileExistsError(
          error.message,
          error.status,
          error.body,
          typeof file === 'string' ? file : ''
        );
      }
      if (error instanceof IsocellRequestError && error.status === 400) {
        const { cell, line } = error.body;
        throw new ExportError(
          error.message,
          error.status,
          error.body,
          typeof cell === 'number' ? cell : null,
          typeof line === 'number' ? line : null
        );
      }
      throw error;
    }
    const body = asObject(answer, 'answer');
    return {
      dag_file: asString(body.dag_file, 'dag_file'),
      dag_id: asString(body.dag_id, 'dag_id'),
      tasks: asStrings(body.tasks ?? [], 'tasks'),
      files: asStrings(body.files ?? [], 'files'),
      text: typeof body.text === 'string' ? body.text : ''
    };
  }

  private _call(endPoint: string, init: RequestInit = {}): Promise<unknown> {
    return requestAPI(endPoint, init, this.settings);
  }
}

function post(body: object): RequestInit {
  return { method: 'POST', body: JSON.stringify(body) };
}

/** Check one environment row of an answer. */
export function parseEnvironment(
  raw: unknown,
  where = 'environment'
): IEnvironment {
  const row = asObject(raw, where);
  const kind = asString(row.kind, `${where}.kind`);
  if (
    kind !== 'spec' &&
    kind !== 'external' &&
    kind !== 'cached' &&
    kind !== 'layer'
  ) {
    throw shapeError(
      `${where}.kind`,
      '"spec", "external", "cached" or "layer"',
      kind
    );
  }
  return {
    name: asString(row.name, `${where}.name`),
    kind,
    key: row.key == null ? null : asString(row.key, `${where}.key`),
    python: asString(row.python, `${where}.python`),
    python_version: asString(row.python_version, `${where}.python_version`),
    requirements: asStrings(row.requirements ?? [], `${where}.requirements`),
    packages: asNumber(row.packages ?? 0, `${where}.packages`),
    size_bytes:
      row.size_bytes == null
        ? null
        : asNumber(row.size_bytes, `${where}.size_bytes`),
    created: asString(row.created, `${where}.created`),
    last_used:
      row.last_used == null
        ? null
        : asString(row.last_used, `${where}.last_used`),
    built: Boolean(row.built),
    kernel_running: Boolean(row.kernel_running)
  };
}

/** Check an environment with its details. */
export function parseDetail(
  raw: unknown,
  where = 'environment'
): IEnvironmentDetail {
  const row = asObject(raw, where);
  const text = (value: unknown, field: string): string | null =>
    value == null ? null : asString(value, `${where}.${field}`);
  return {
    ...parseEnvironment(row, where),
    lock: asStrings(row.lock ?? [], `${where}.lock`),
    path: asString(row.path, `${where}.path`),
    builder: text(row.builder, 'builder'),
    built_at: text(row.built_at, 'built_at'),
    exclude_newer: text(row.exclude_newer, 'exclude_newer'),
    build_log: text(row.build_log, 'build_log') ?? ''
  };
}

/** Check one kernel of an answer. */
export function parseKernel(raw: unknown, where = 'kernel'): IKernel {
  const kernel = asObject(raw, where);
  const optional = <T>(value: unknown, check: (v: unknown) => T): T | null =>
    value == null ? null : check(value);
  return {
    environment: asString(kernel.environment, `${where}.environment`),
    name: optional(kernel.name, v => asString(v, `${where}.name`)),
    interpreter: asString(kernel.interpreter, `${where}.interpreter`),
    python_version: asString(kernel.python_version, `${where}.python_version`),
    pid: asNumber(kernel.pid, `${where}.pid`),
    started: asNumber(kernel.started, `${where}.started`),
    cells_run: asNumber(kernel.cells_run, `${where}.cells_run`),
    memory_bytes: optional(kernel.memory_bytes, v =>
      asNumber(v, `${where}.memory_bytes`)
    ),
    owner_pid: asNumber(kernel.owner_pid, `${where}.owner_pid`),
    notebook: optional(kernel.notebook, v => asString(v, `${where}.notebook`))
  };
}

/** Check one task of an answer. */
export function parseTask(raw: unknown, where = 'task'): ITask {
  const task = asObject(raw, where);
  const state = asString(task.state, `${where}.state`);
  if (state !== 'running' && state !== 'done' && state !== 'failed') {
    throw shapeError(`${where}.state`, '"running", "done" or "failed"', state);
  }
  const kind =
    task.kind === 'rebuild' || task.kind === 'cell' ? task.kind : 'build';
  return {
    id: String(task.id ?? ''),
    kind,
    name: asString(task.name, `${where}.name`),
    notebook:
      task.notebook == null
        ? null
        : asString(task.notebook, `${where}.notebook`),
    state,
    phase: typeof task.phase === 'string' ? task.phase : '',
    packages:
      task.packages == null
        ? null
        : asNumber(task.packages, `${where}.packages`),
    elapsed: asNumber(task.elapsed ?? 0, `${where}.elapsed`),
    log: asStrings(task.log ?? [], `${where}.log`),
    log_offset: asNumber(task.log_offset ?? 0, `${where}.log_offset`),
    error: task.error == null ? null : String(task.error),
    cause: task.cause == null ? null : String(task.cause),
    environment:
      task.environment == null
        ? null
        : parseEnvironment(task.environment, `${where}.environment`)
  };
}

function shapeError(
  where: string,
  expected: string,
  value: unknown
): IsocellRequestError {
  return new IsocellRequestError(
    trans().__(
      "Unexpected answer from isocell's server: %1 should be %2, got %3",
      where,
      expected,
      JSON.stringify(value)
    ),
    200
  );
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw shapeError(where, 'an object', value);
  }
  return value as Record<string, unknown>;
}

function asArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) {
    throw shapeError(where, 'a list', value);
  }
  return value;
}

function asString(value: unknown, where: string): string {
  if (typeof value !== 'string') {
    throw shapeError(where, 'a string', value);
  }
  return value;
}

function asNumber(value: unknown, where: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw shapeError(where, 'a number', value);
  }
  return value;
}

function asStrings(value: unknown, where: string): string[] {
  return asArray(value, where).map((item, index) =>
    asString(item, `${where}[${index}]`)
  );
}

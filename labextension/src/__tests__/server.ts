/**
 * A tiny stand-in for isocell's REST API, for the jest tests only: routes answer from
 * functions, every request is recorded, and the settings plug its fetch into
 * `ServerConnection` so the real request helper is exercised.
 */
import { ServerConnection } from '@jupyterlab/services';

import { IsocellRequestError } from '../request';

export interface IRecordedRequest {
  method: string;
  /** The path and query below `/isocell/`, e.g. `tasks/7?since=2`. */
  path: string;
  body: unknown;
}

/** An answer: a status and a JSON body (or raw text, or nothing). */
export interface IAnswer {
  status?: number;
  json?: unknown;
  text?: string;
}

export type Route = (request: IRecordedRequest) => IAnswer | Promise<IAnswer>;

export class MockServer {
  readonly requests: IRecordedRequest[] = [];
  /** Routes by `METHOD path` (the path without its query), e.g. `GET envs`. */
  readonly routes = new Map<string, Route>();
  /** Throws like a fetch whose server is down, when set. */
  down = false;

  constructor() {
    // The sidebar reads the kernels with every refresh; tests about them set their own.
    this.on('GET kernels', { json: { kernels: [] } });
  }

  readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings(
    {
      baseUrl: 'http://localhost:8888/lab-base/',
      fetch: (input: RequestInfo, init?: RequestInit) =>
        this._fetch(input, init)
    }
  );

  on(key: string, route: Route | IAnswer): this {
    this.routes.set(key, typeof route === 'function' ? route : () => route);
    return this;
  }

  private async _fetch(
    input: RequestInfo,
    init?: RequestInit
  ): Promise<Response> {
    if (this.down) {
      throw new TypeError('Failed to fetch');
    }
    const request =
      typeof input === 'string' ? new Request(input, init) : input;
    const url = new URL(request.url);
    const prefix = '/lab-base/isocell/';
    if (!url.pathname.startsWith(prefix)) {
      return new Response('<html>not found</html>', { status: 404 });
    }
    // ServerConnection adds a cache-busting time stamp (`?1712345678`) to GETs: drop it.
    const query = url.search
      .slice(1)
      .split('&')
      .filter(part => part && !/^\d+$/.test(part))
      .join('&');
    const path = url.pathname.slice(prefix.length) + (query ? `?${query}` : '');
    const text = await request.text();
    const recorded = {
      method: request.method,
      path,
      body: text ? JSON.parse(text) : undefined
    };
    this.requests.push(recorded);
    const route = this.routes.get(`${request.method} ${path.split('?')[0]}`);
    if (!route) {
      return new Response('<html>404: Not Found</html>', {
        status: 404,
        statusText: 'Not Found'
      });
    }
    const answer = await route(recorded);
    const status = answer.status ?? 200;
    const body =
      answer.json !== undefined
        ? JSON.stringify(answer.json)
        : (answer.text ?? null);
    return new Response(status === 204 ? null : body, { status });
  }
}

/** The error a promise rejects with (a test fails if it resolves). */
export async function rejection(
  promise: Promise<unknown>
): Promise<IsocellRequestError> {
  try {
    await promise;
  } catch (error) {
    return error as IsocellRequestError;
  }
  throw new Error('expected a rejection');
}

/** An environment row as the server sends it. */
export function row(
  overrides: Record<string, unknown> = {}
): Record<string, unknown> {
  return {
    name: 'analytics',
    kind: 'spec',
    python: '/home/me/.local/share/isocell/envs/ab12/bin/python',
    python_version: '3.11.9',
    requirements: ['six==1.16.0'],
    packages: 1,
    size_bytes: 12_582_912,
    created: '2025-01-02T03:04:05+00:00',
    last_used: null,
    built: true,
    kernel_running: false,
    ...overrides
  };
}

/** A task as the server sends it. */
export function task(
  overrides: Record<string, unknown> = {}
): Record<string, unknown> {
  return {
    id: 't1',
    kind: 'build',
    name: 'analytics',
    notebook: null,
    state: 'running',
    phase: 'resolving',
    packages: null,
    elapsed: 0.2,
    log: [],
    log_offset: 0,
    error: null,
    cause: null,
    environment: null,
    ...overrides
  };
}

/** A kernel as the server sends it. */
export function kernel(
  overrides: Record<string, unknown> = {}
): Record<string, unknown> {
  return {
    environment: 'analytics',
    name: 'analytics',
    key: 'ab12',
    interpreter: '/home/me/.local/share/isocell/envs/ab12/bin/python',
    python_version: '3.9.18',
    pid: 4242,
    started: 1_735_787_045.5,
    cells_run: 3,
    memory_bytes: 73_400_320,
    alive: true,
    owner_pid: 4200,
    notebook: '/home/me/work/analysis.ipynb',
    ...overrides
  };
}

/**
 * The one fetch helper of the front end: every call to isocell's REST API goes through
 * `requestAPI`, so authentication (the server's XSRF token and headers, through
 * `ServerConnection`) and the reading of error answers live in one place.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { trans } from './i18n';

/** The URL path of isocell's REST API under the server's base URL. */
export const API_NAMESPACE = 'isocell';

/**
 * A failed call to isocell's REST API.
 *
 * `status` is the HTTP status (0 when the server could not be reached) and `body` the
 * JSON object the server answered with (`{}` when it sent none), so callers can read
 * fields such as an export error's `cell` and `line`.
 */
export class IsocellRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Readonly<Record<string, unknown>> = {}
  ) {
    super(message);
    this.name = 'IsocellRequestError';
  }
}

/**
 * Call isocell's REST API and return the parsed JSON answer.
 *
 * @param endPoint - path below `/isocell/`, e.g. `envs` or `tasks/ID?since=3`
 * @param init - the fetch options (method, body, ...)
 * @param settings - the server connection; the page's own server by default
 * @returns the answer's JSON value, or `null` for an empty answer (`204 No Content`)
 * @throws {IsocellRequestError} when the server cannot be reached, answers with an error
 *   status (the message is the server's `message` field when it sent one), or sends a
 *   body that is not JSON
 */
export async function requestAPI(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<unknown> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new IsocellRequestError(
      trans().__(
        'Cannot reach the Jupyter server at %1: %2',
        settings.baseUrl,
        String(error)
      ),
      0
    );
  }
  const text = await response.text();
  const body = parseBody(text);
  if (!response.ok) {
    throw errorFor(response, url, body);
  }
  if (text.length > 0 && body === undefined) {
    throw new IsocellRequestError(
      trans().__('The answer of %1 is not JSON: %2', url, text.slice(0, 200)),
      response.status
    );
  }
  return body ?? null;
}

/** The JSON value of a body; `undefined` when it is empty or not JSON. */
function parseBody(text: string): unknown {
  if (text.length === 0) {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorFor(
  response: Response,
  url: string,
  body: unknown
): IsocellRequestError {
  const fields = isObject(body) ? body : {};
  const message =
    typeof fields.message === 'string' ? fields.message : undefined;
  if (message) {
    return new IsocellRequestError(message, response.status, fields);
  }
  if (response.status === 404 && !isObject(body)) {
    // Jupyter server's own HTML 404 page: the route is not there at all.
    return new IsocellRequestError(
      `isocell's server extension did not answer at ${url} (404): is "isocell.server" ` +
        'enabled? See `jupyter server extension list`.',
      404
    );
  }
  const reason = response.statusText || 'error';
  return new IsocellRequestError(
    `${url} answered ${response.status} ${reason}`,
    response.status,
    fields
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

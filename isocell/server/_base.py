"""What every isocell route shares: JSON errors, reading the body, running work off the loop.

Errors are JSON, ``{"message": ..., "error": ...}``, never an HTML page: a message a person can
act on (the text of the :class:`~isocell.errors.IsocellError` behind it), the error's class
name, and the data it carries where the client can use it (a cell and a line for an export).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping
from http.client import responses
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from isocell.envs import check_name
from isocell.errors import (
    DagFileExistsError,
    EnvironmentNotFoundError,
    ExportError,
    InterpreterNotFoundError,
    IsocellError,
    NameTakenError,
    RegistryError,
    RequirementError,
)

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_FIELDS",
    "MAX_ITEMS",
    "MAX_PATH",
    "ApiError",
    "Body",
    "IsocellHandler",
    "shown",
]

#: The largest request body a route reads (bytes): a request is a few fields, a notebook's
#: path, or a list of requirements. Larger ones are a 413, before any of it is parsed.
MAX_BODY_BYTES = 1024 * 1024
#: The longest path field (characters): Linux's PATH_MAX. Longer paths are not looked at.
MAX_PATH = 4096
#: The most items of a list field (requirements, index URLs).
MAX_ITEMS = 1000
#: The most fields of a request's JSON object (every route reads fewer than ten); each
#: unknown one is compared with the known ones (:meth:`Body.expect`).
MAX_FIELDS = 64

T = TypeVar("T")

# What an error means for a route: bad input, or an unknown name; anything else is a 500.
_STATUS: dict[type[IsocellError], int] = {
    DagFileExistsError: 409,  # before ExportError, which it is
    RequirementError: 400,
    InterpreterNotFoundError: 400,
    ExportError: 400,
    EnvironmentNotFoundError: 404,
    NameTakenError: 409,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ApiError(HTTPError):
    """An HTTP error with a JSON body.

    Parameters
    ----------
    status : int
        The HTTP status (400 bad input, 403 refused, 404 unknown, 409 conflict, 500 failed).
    message : str
        What went wrong and what to do, for a person.
    **extra
        More fields for the JSON body (``cell``, ``line``, ``error``).
    """

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        # tornado formats log_message with %; the message is user-facing text, not a format.
        super().__init__(status, message.replace("%", "%%"))
        self.message = message
        self.extra = extra

    @classmethod
    def of(cls, error: IsocellError, status: int | None = None) -> ApiError:
        """The response for ``error``: its message, class name and data."""
        extra: dict[str, Any] = {"error": type(error).__name__}
        if isinstance(error, ExportError):
            extra.update(cell=error.cell, line=error.line)
        if isinstance(error, DagFileExistsError):
            extra.update(dag_file=error.path)
        elif isinstance(error, RequirementError):
            extra.update(requirement=error.requirement)
        elif isinstance(error, EnvironmentNotFoundError):
            extra.update(known=error.known)
        code = status or next((c for t, c in _STATUS.items() if isinstance(error, t)), 500)
        return cls(code, str(error), **extra)


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message names the input, not all of it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


class Body:
    """The JSON object of a request, read field by field with its type checked.

    Unknown fields are ignored, unless one looks like a misspelt known field (see
    :meth:`expect`); a field of the wrong type is a 400 naming the field.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def expect(self, *known: str) -> None:
        """A 400 for a field that is not one of ``known`` but close to one (``requirement``
        for ``requirements``): it would be ignored, and the request do something else."""
        import difflib

        for key in self.data:
            if key in known:
                continue
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
            if close:
                raise ApiError(
                    400,
                    f"unknown field {shown(key)}: did you mean {close[0]!r}? The fields are "
                    f"{', '.join(known)}",
                )

    def text(self, key: str, *, required: bool = False, limit: int | None = None) -> str | None:
        """A string field, None when absent or null (a 400 when ``required``, or over
        ``limit`` characters: a path's, which is looked at part by part)."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise ApiError(400, f"the request needs a {key!r} field (a string)")
            return None
        if not isinstance(value, str):
            raise ApiError(400, f"{key!r} must be a string, not {_json_type(value)}")
        if _CONTROL.search(value):
            raise ApiError(
                400,
                f"{key!r} must be one line of text without control characters, not {shown(value)}",
            )
        if limit is not None and len(value) > limit:
            raise ApiError(
                400,
                f"{key!r} is {len(value)} characters long ({shown(value)}); at most {limit} "
                "are read",
            )
        if required and not value.strip():
            raise ApiError(400, f"{key!r} must not be empty")
        return value

    def texts(self, key: str) -> list[str]:
        """A list-of-strings field, empty when absent or null."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ApiError(400, f"{key!r} must be a list of strings, not {_json_type(value)}")
        if len(value) > MAX_ITEMS:
            raise ApiError(400, f"{key!r} has {len(value)} items; at most {MAX_ITEMS} are read")
        for item in value:
            if not isinstance(item, str):
                raise ApiError(
                    400,
                    f"{key!r} must be a list of strings; it holds {_json_type(item)}, "
                    f"{shown(item)}",
                )
            if _CONTROL.search(item):
                raise ApiError(
                    400,
                    f"{key!r} must be a list of one-line strings; {shown(item)} holds a line "
                    "break or another control character",
                )

        return list(value)

    def flag(self, key: str) -> bool:
        """A boolean field, False when absent or null."""
        value = self.data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise ApiError(400, f"{key!r} must be true or false, not {_json_type(value)}")
        return value

    def integer(self, key: str, default: int) -> int:
        """An integer field (not a boolean), ``default`` when absent or null."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise ApiError(400, f"{key!r} must be an integer, not {_json_type(value)}")
        return value


class IsocellHandler(APIHandler):
    """Base of isocell's routes: the ``isocell`` authorization resource and JSON errors.

    Subclasses decorate every verb with ``@tornado.web.authenticated`` and ``@authorized``,
    as the JupyterLab extension template does.
    """

    auth_resource = "isocell"

    async def prepare(self) -> None:  # type: ignore[override]
        """Jupyter's checks (authentication, XSRF), then a 413 for a body over
        :data:`MAX_BODY_BYTES`, whatever the route does with it."""
        await super().prepare()
        declared = self.request.headers.get("Content-Length", "0")
        size = max(len(self.request.body or b""), int(declared) if declared.isdigit() else 0)
        if size > MAX_BODY_BYTES:
            raise ApiError(
                413,
                f"the request body is {size} bytes; isocell's routes read at most "
                f"{MAX_BODY_BYTES} (a request is a few fields and at most {MAX_ITEMS} "
                "requirements)",
            )

    async def body(self) -> Body:
        """The request's JSON object (an empty one for an empty body), parsed in a worker
        thread: up to :data:`MAX_BODY_BYTES` of JSON takes milliseconds the server's event
        loop (every other request) need not wait."""
        try:
            data = await asyncio.to_thread(json.loads, self.request.body or b"{}")
        except ValueError as error:
            raise ApiError(
                400, f"the request body is not JSON ({error}): send a JSON object"
            ) from None
        except RecursionError:
            raise ApiError(
                400, "the request body is JSON nested too deeply: send a flat JSON object"
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, f"the request body must be a JSON object, not {_json_type(data)}")
        if len(data) > MAX_FIELDS:
            raise ApiError(
                400, f"the request body has {len(data)} fields; isocell reads at most {MAX_FIELDS}"
            )
        return Body(data)

    async def call(self, work: Callable[..., T], *args: Any) -> T:
        """Run blocking ``work(*args)`` in a worker thread; an isocell error becomes a response.

        ``work`` reads or writes files or runs interpreters, so never on the event loop. The
        status follows the error: 400 for bad input, 404 for an unknown name, 500 otherwise.
        """
        try:
            return await asyncio.to_thread(work, *args)
        except IsocellError as error:
            raise ApiError.of(error) from error

    def checked_name(self, name: str) -> str:
        """``name`` if it is a valid environment name, else a 400 saying what names may be."""
        try:
            return check_name(name)
        except RegistryError as error:
            reason = error.reason.replace(repr(name), shown(name))
            raise ApiError(400, reason, error="RegistryError") from None

    def reply(self, payload: Any, status: int = 200) -> None:
        """Finish with ``payload`` as JSON."""
        self.set_status(status)
        self.finish(json.dumps(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as JSON with a ``message`` a person can act on."""
        error = kwargs.get("exc_info", (None, None, None))[1]
        reply: dict[str, Any]
        if isinstance(error, ApiError):
            reply = {"message": error.message, **error.extra}
        elif isinstance(error, HTTPError):
            text = error.log_message % error.args if error.log_message else ""
            if status_code == 403 and not getattr(self, "_jupyter_current_user", None):
                text = (
                    "not authenticated: send the Jupyter server's token (an 'Authorization: "
                    "token ...' header) or log in to the server first"
                )
            elif status_code == 403 and "xsrf" in text.lower():
                text += (
                    " (a request authenticated by the login cookie must echo the '_xsrf' "
                    "cookie in an 'X-XSRFToken' header, as JupyterLab's ServerConnection does)"
                )
            reply = {"message": text or responses.get(status_code, "error"), "reason": error.reason}
        else:
            reply = {
                "message": f"isocell failed unexpectedly ({type(error).__name__}: {error}); "
                "the Jupyter server's log has the traceback",
                "error": type(error).__name__,
            }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(reply))


def _json_type(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "an object", type(None): "null"})
    return names.get(type(value), type(value).__name__)

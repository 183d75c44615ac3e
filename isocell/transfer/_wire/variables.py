"""Airflow's Variables and Connections where Airflow is not: ``from isocell import Variable``.

Runs from source in the notebook and in every child kernel (any CPython >= 3.8, standard
library only; YAML files need PyYAML). The call shapes are Airflow's: ``Variable.get(key,
default=..., deserialize_json=False)`` and ``Connection.get(conn_id)`` with ``host``, ``port``,
``login``, ``password``, ``schema``, ``conn_type``, ``extra``, ``extra_dejson`` and
``get_uri()``.

Values come from Airflow's own local sources, in Airflow's order: the environment variables
``AIRFLOW_VAR_<KEY>`` and ``AIRFLOW_CONN_<CONN_ID>`` (upper case; a connection as a URI or as
JSON) (``airflow.secrets.environment_variables``), then the files of Airflow's
``LocalFilesystemBackend`` (``airflow.secrets.local_filesystem``: ``.json``, ``.yaml``/``.yml``
or ``.env``), named by ``ISOCELL_VARIABLES_FILE`` / ``ISOCELL_CONNECTIONS_FILE`` or by
Airflow's own setting ``AIRFLOW__SECRETS__BACKEND_KWARGS`` (``variables_file_path``,
``connections_file_path``). A missing key without a default raises, as in Airflow.

In an exported task that Airflow runs in another interpreter, the values come first from what
Airflow rendered for the task (:func:`provide`; see ``isocell.dag._lookups``). The secrets read
are masked in what the process shows (:mod:`.masking`, whose names this module re-exports).
"""

import json
import os
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .masking import is_sensitive, mask, remember, remember_secrets, secret_values

__all__ = [
    "MISSING",
    "Connection",
    "ConnectionNotFound",
    "Variable",
    "VariableNotFound",
    "is_sensitive",
    "mask",
    "provide",
    "remember_secrets",
    "secret_values",
]

_NOTSET = object()
# What Airflow rendered for an exported task: {"variables": {key: text}, "connections":
# {conn_id: JSON}}; a Variable rendered as MISSING does not exist.
_PROVIDED = {"variables": {}, "connections": {}}  # type: ignore[var-annotated]
MISSING = "isocell:no-such-variable"


class VariableNotFound(KeyError):
    """``Variable.get`` of a key no source has, without a default (Airflow 2 raises
    ``KeyError``, Airflow 3 its ``AirflowRuntimeError`` ``VARIABLE_NOT_FOUND``)."""

    def __str__(self):  # type: ignore[no-untyped-def]
        return str(self.args[0])


class ConnectionNotFound(KeyError):
    """``Connection.get`` of an id no source has (Airflow: ``CONNECTION_NOT_FOUND``)."""

    def __str__(self):  # type: ignore[no-untyped-def]
        return str(self.args[0])


def _backend_file(kind):  # type: ignore[no-untyped-def]
    path = os.environ.get(f"ISOCELL_{kind.upper()}_FILE")
    if path:
        return path
    kwargs = os.environ.get("AIRFLOW__SECRETS__BACKEND_KWARGS")
    if kwargs and "LocalFilesystemBackend" in os.environ.get("AIRFLOW__SECRETS__BACKEND", ""):
        try:
            return json.loads(kwargs).get(f"{kind}_file_path")
        except ValueError:
            return None
    return None


def _read_file(path):  # type: ignore[no-untyped-def]
    """A LocalFilesystemBackend file as a dict (``.env``: each key's one value)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".json":
        data = json.loads(text) if text.strip() else {}
    elif suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    elif suffix == ".env":
        data = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not key or not value:
                raise ValueError(f"{path}, line {number}: expected KEY=VALUE")
            if key in data:
                raise ValueError(f"{path}: more than one value for {key}")
            data[key] = value
    else:
        raise ValueError(f"{path}: a secrets file ends in .json, .yaml, .yml or .env")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of keys to values")
    return data


def provide(rendered):  # type: ignore[no-untyped-def]
    """Take the Variables and Connections Airflow rendered for this task (a dict
    ``{"variables": {key: text}, "connections": {conn_id: JSON}}``); they come before every
    other source."""
    for kind in ("variables", "connections"):
        _PROVIDED[kind].update((rendered or {}).get(kind) or {})


def _lookup(kind, key):  # type: ignore[no-untyped-def]
    if key in _PROVIDED[kind]:
        value = _PROVIDED[kind][key]
        return _NOTSET if kind == "variables" and value == MISSING else value
    prefix = "AIRFLOW_VAR_" if kind == "variables" else "AIRFLOW_CONN_"
    value = os.environ.get(prefix + key.upper())
    if value is not None:
        return value
    path = _backend_file(kind)
    if path:
        data = _read_file(path)
        if key in data:
            return data[key]
    return _NOTSET


class Variable:
    """An Airflow Variable, read from Airflow's local sources (module docstring)."""

    @classmethod
    def get(cls, key, default=_NOTSET, deserialize_json=False):  # type: ignore[no-untyped-def]
        """The Variable ``key``; ``default`` when no source has it.

        Raises
        ------
        VariableNotFound
            When no source has ``key`` and no default is given.
        """
        value = _lookup("variables", key)
        if value is _NOTSET:
            if default is _NOTSET:
                raise VariableNotFound(
                    f"VARIABLE_NOT_FOUND: Variable {key} does not exist: set AIRFLOW_VAR_"
                    f"{key.upper()}, or put it in the file ISOCELL_VARIABLES_FILE names"
                )
            if is_sensitive(key):
                remember(default)  # Airflow masks a sensitive key's default too
            return default
        if not isinstance(value, str):  # a JSON or YAML file may hold any value
            value = json.dumps(value)
        if is_sensitive(key):
            remember(value)
        return json.loads(value) if deserialize_json else value


class Connection:
    """An Airflow Connection, read from Airflow's local sources (module docstring)."""

    def __init__(  # type: ignore[no-untyped-def]
        self,
        conn_id=None,
        conn_type=None,
        host=None,
        login=None,
        password=None,
        schema=None,
        port=None,
        extra=None,
        description=None,
    ):
        self.conn_id, self.conn_type, self.host = conn_id, conn_type, host
        self.login, self.schema, self.description = login, schema, description
        self.password = remember(password)
        self.port = int(port) if port not in (None, "") else None
        self.extra = json.dumps(extra) if isinstance(extra, dict) else extra

    @classmethod
    def get(cls, conn_id):  # type: ignore[no-untyped-def]
        """The Connection ``conn_id``.

        Raises
        ------
        ConnectionNotFound
            When no source has it.
        """
        value = _lookup("connections", conn_id)
        if value is _NOTSET:
            raise ConnectionNotFound(
                f"CONNECTION_NOT_FOUND: The conn_id `{conn_id}` isn't defined: set AIRFLOW_CONN_"
                f"{conn_id.upper()}, or put it in the file ISOCELL_CONNECTIONS_FILE names"
            )
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = json.loads(value)
        if isinstance(value, dict):
            fields = dict(value)
            if "extra_dejson" in fields:
                fields["extra"] = fields.pop("extra_dejson")
            fields.pop("conn_id", None)
            return cls(conn_id=conn_id, **fields)
        return cls.from_uri(conn_id, value)

    @classmethod
    def from_uri(cls, conn_id, uri):  # type: ignore[no-untyped-def]
        """A Connection from Airflow's URI form (``airflow.models.connection``):
        ``type://login:password@host:port/schema?extra=1``, ``__extra__=<JSON>`` for
        structured extras, ``type://protocol://host`` for a host with a protocol."""
        conn_type, _, rest = uri.partition("://")
        conn_type = "postgres" if conn_type == "postgresql" else conn_type.replace("-", "_")
        protocol = None
        if "://" in rest:
            protocol, _, rest = rest.partition("://")
        parts = urlsplit("//" + rest)
        host = unquote(parts.hostname) if parts.hostname else ""
        if protocol:
            host = f"{protocol}://{host}"
        extra = None
        if parts.query:
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            extra = query["__extra__"] if "__extra__" in query else json.dumps(query)
        return cls(
            conn_id=conn_id,
            conn_type=conn_type,
            host=host,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            schema=unquote(parts.path[1:]) if parts.path[1:] else "",
            port=parts.port,
            extra=extra,
        )

    @property
    def extra_dejson(self):  # type: ignore[no-untyped-def]
        """``extra`` as a dict (``{}`` when empty or not JSON)."""
        if not self.extra:
            return {}
        try:
            value = json.loads(self.extra)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def get_uri(self):  # type: ignore[no-untyped-def]
        """This connection as Airflow's URI form."""
        uri = (self.conn_type or "").replace("_", "-") + "://"
        if self.login is not None or self.password is not None:
            uri += quote(self.login or "", safe="")
            if self.password is not None:
                uri += ":" + quote(self.password, safe="")
            uri += "@"
        uri += self.host or ""
        if self.port:
            uri += f":{self.port}"
        if self.schema:
            uri += "/" + quote(self.schema, safe="")
        if self.extra:
            # Airflow's rule: a plain query when the extras read back from one, else the JSON.
            extra = self.extra_dejson
            try:
                query = urlencode(extra)
            except TypeError:
                query = ""
            lead = "?" if self.schema else "/?"
            if query and extra == dict(parse_qsl(query, keep_blank_values=True)):
                uri += lead + query
            else:
                uri += lead + urlencode({"__extra__": self.extra})
        return uri

    def __repr__(self):  # type: ignore[no-untyped-def]
        return f"<Connection {self.conn_id} ({self.conn_type})>"


# Pickled as ``isocell.<name>`` wherever they were made (the notebook, a child whose
# environment has no isocell but the module of that name the agent gives it): a Connection
# returned by an isolated cell, or a VariableNotFound it raised, is found again in the notebook.
for _class in (Variable, Connection, VariableNotFound, ConnectionNotFound):
    _class.__module__ = "isocell"

"""isocell's runtime for exported DAGs: task values in and out of payload files.

Exported beside the DAG file as the package ``isocell_runtime``, with isocell's wire modules
(the same version-neutral codec the ``%%isolated`` magic uses), so that a task on Python 3.9
with pandas 1.4.4 reads what a task on Python 3.12 with pandas 3 wrote, and back. XCom carries
only references (``isocell:<path>#<name>`` strings); the payloads live under the DAG's data
location: a local folder, or, for deployments on many machines, an fsspec URL (``s3://...``),
which the task's environment must be able to open (fsspec and the filesystem's package).

It runs in every task's interpreter (any CPython >= 3.8) with the standard library, plus
numpy, pandas and pyarrow where the values need them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid

from . import exchange

PREFIX = "isocell:"


def _is_url(location):  # type: ignore[no-untyped-def]
    return "://" in location


def store(values, task_id, location):  # type: ignore[no-untyped-def]
    """Write ``values`` (a dict) to one payload under ``location``; return references.

    Returns ``{name: "isocell:<path>#<name>"}``, small strings that XCom carries.
    """
    name = f"{task_id}-{uuid.uuid4().hex}.isocell"
    if _is_url(location):
        import fsspec

        with tempfile.TemporaryDirectory() as folder:
            local = os.path.join(folder, name)
            exchange.pack(local, values, None, {})
            target = location.rstrip("/") + "/" + name
            with open(local, "rb") as source, fsspec.open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 16 * 1024 * 1024)
    else:
        os.makedirs(location, exist_ok=True)
        target = os.path.join(location, name)
        exchange.pack(target, values, None, {})
    return {key: f"{PREFIX}{target}#{key}" for key in values}


_cache = {}  # type: dict


def load(reference):  # type: ignore[no-untyped-def]
    """The value behind a reference made by :func:`store` (other values pass through)."""
    if not isinstance(reference, str) or not reference.startswith(PREFIX):
        return reference
    target, _, key = reference[len(PREFIX) :].rpartition("#")
    if target not in _cache:
        if _is_url(target):
            import fsspec

            handle, local = tempfile.mkstemp(suffix=".isocell")
            with os.fdopen(handle, "wb") as sink, fsspec.open(target, "rb") as source:
                shutil.copyfileobj(source, sink, 16 * 1024 * 1024)
            try:
                _cache[target] = exchange.Unpacked(local).apply({}, bind=False)
            finally:
                os.unlink(local)
        else:
            _cache[target] = exchange.Unpacked(target).apply({}, bind=False)
    return _cache[target][key]


def run_value(text, kind):  # type: ignore[no-untyped-def]
    """A value of the run, from the text Airflow rendered for a templated argument.

    ``kind``: ``"json"`` (params), ``"datetime"`` (ISO 8601, timezone-aware; ``""`` is None,
    a run without a logical date), anything else: the text itself.
    """
    if kind == "json":
        import json

        return json.loads(text)
    if kind == "datetime":
        import datetime

        return datetime.datetime.fromisoformat(text) if text else None
    return text

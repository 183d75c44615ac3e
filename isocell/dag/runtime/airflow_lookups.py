"""Airflow 3's own ``Variable`` and ``Connection`` for tasks in Airflow's environment, with the
secrets they return hidden in what the task prints, as the notebook hides them.

Airflow masks secrets in the task logs of scheduled runs; ``airflow dags test`` prints what a
task prints as it is. These wrappers call ``airflow.sdk``'s lookups and then register the
secrets (every Connection password, Variables Airflow deems sensitive) with isocell's own
masking of the process's ``stdout`` and ``stderr`` (``isocell_runtime.masking``), so printed
secrets show as ``***`` on every console.
"""

from __future__ import annotations

import json

from airflow.sdk import Connection as _Connection  # type: ignore[import-not-found]
from airflow.sdk import Variable as _Variable  # type: ignore[import-not-found]

from . import masking as _masking

__all__ = ["Connection", "Variable"]


class Variable:
    """``airflow.sdk.Variable.get``, with a sensitive value masked in printed output."""

    @staticmethod
    def get(key, *args, **kwargs):  # type: ignore[no-untyped-def]
        """As ``airflow.sdk.Variable.get(key, default=..., deserialize_json=False)``."""
        value = _Variable.get(key, *args, **kwargs)
        if _masking.is_sensitive(key) and value is not None:
            _masking.remember_secrets([value if isinstance(value, str) else json.dumps(value)])
        return value


class Connection:
    """``airflow.sdk.Connection.get``, with the password masked in printed output."""

    @staticmethod
    def get(conn_id):  # type: ignore[no-untyped-def]
        """As ``airflow.sdk.Connection.get(conn_id)``."""
        connection = _Connection.get(conn_id)
        _masking.remember_secrets([connection.password])
        return connection

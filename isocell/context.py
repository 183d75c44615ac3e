"""The context of an Airflow run, as a notebook prototype of a DAG sees it.

:func:`run_context` gives the values Airflow puts in a task's context for a manual run of a
DAG without a schedule (``airflow dags test DAG DATE``, or a trigger with that logical date):
the data interval is the single instant ``logical_date`` (Airflow's timetable for
``schedule=None``), the run id is ``manual__<run_after ISO>``, the moment the run was asked
for (Airflow 3's ``DagRun.generate_run_id`` for a run with a logical date), and ``params`` holds
the run's conf (Airflow's ``dag_run_conf_overrides_params``). Dates are timezone-aware
``datetime`` objects in UTC (Airflow gives pendulum's ``DateTime``, a ``datetime`` subclass;
no pendulum is needed here), the ``ds`` family are strings as Airflow formats them.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from isocell.errors import IsocellError, shown

__all__ = [
    "CONTEXT_NAMES",
    "bind",
    "given_context",
    "parse_conf",
    "parse_logical_date",
    "run_context",
    "run_params",
]

# The context ``isocell run --logical-date`` gave this process (a notebook kernel), which the
# notebook's own ``%isocell context`` line then keeps rather than replaces.
_GIVEN: dict[str, Any] = {}

#: The names :func:`run_context` binds.
CONTEXT_NAMES = (
    "logical_date",
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "data_interval_start",
    "data_interval_end",
    "run_id",
    "params",
)


def parse_logical_date(text: str | None) -> _dt.datetime:
    """A logical date from ``YYYY-MM-DD`` or an ISO 8601 time (UTC when no zone is given);
    now, to the second, when ``text`` is None.

    Raises
    ------
    IsocellError
        For text that is neither.
    """
    if text is None:
        return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    try:
        moment = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise IsocellError(
            f"--logical-date {shown(text)!r} is not a date: give YYYY-MM-DD (2024-06-15) or an "
            "ISO 8601 time (2024-06-15T06:00:00+00:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment


def parse_conf(text: str | None) -> dict[str, Any]:
    """A run's conf from JSON text (an object); ``{}`` for None.

    Raises
    ------
    IsocellError
        For text that is not a JSON object.
    """
    if text is None:
        return {}
    try:
        conf = json.loads(text)
    except ValueError as error:
        raise IsocellError(f"--conf {shown(text)!r} is not JSON ({error})") from None
    if not isinstance(conf, dict):
        raise IsocellError(
            f"--conf {shown(text)!r} is not a JSON object: give one such as '{{\"n\": 5}}'"
        )
    return conf


def run_context(
    logical_date: _dt.datetime,
    conf: Mapping[str, Any] | None = None,
    run_after: _dt.datetime | None = None,
) -> dict[str, Any]:
    """The context values of a manual run at ``logical_date`` with ``conf``.

    Parameters
    ----------
    logical_date : datetime
        Timezone-aware.
    conf : mapping or None
        The run's conf; it becomes ``params``.
    run_after : datetime or None
        When the run was asked for (timezone-aware); default: now. Names the run.

    Returns
    -------
    dict
        One value for each of :data:`CONTEXT_NAMES`.
    """
    moment = logical_date.astimezone(_dt.timezone.utc)
    ts = moment.isoformat()
    return {
        "logical_date": moment,
        "ds": moment.strftime("%Y-%m-%d"),
        "ds_nodash": moment.strftime("%Y%m%d"),
        "ts": ts,
        "ts_nodash": moment.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": ts.replace("-", "").replace(":", ""),
        "data_interval_start": moment,
        "data_interval_end": moment,
        "run_id": f"manual__{(run_after or _dt.datetime.now(_dt.timezone.utc)).isoformat()}",
        "params": dict(conf or {}),
    }


def run_params(
    declared: Iterable[str], values: Mapping[str, Any], conf: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run's ``params`` and the parameters its conf sets, by Airflow's rule.

    The conf overrides the params (``dag_run_conf_overrides_params``), and a task that reads
    a parameter gets the run's value: so a conf entry that names a declared parameter also
    sets that variable.

    Parameters
    ----------
    declared : iterable of str
        The names the notebook's cell tagged ``parameters`` assigns.
    values : mapping
        Their values before the conf (defaults, or what the notebook holds).
    conf : mapping
        The run's conf.

    Returns
    -------
    (dict, dict)
        ``params``, and the parameters to set from the conf.
    """
    names = set(declared)
    params = {**{k: v for k, v in values.items() if k in names}, **conf}
    return params, {k: v for k, v in conf.items() if k in names}


def bind(
    namespace: dict[str, Any], logical_date: str | None, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Put the context of a manual run in ``namespace`` (a notebook's); returns it.

    ``logical_date`` as :func:`parse_logical_date` reads it. ``isocell run --logical-date``
    adds a cell that calls this.
    """
    context = run_context(parse_logical_date(logical_date), params)
    namespace.update(context)
    _GIVEN.clear()
    _GIVEN.update(context)
    return context


def given_context() -> dict[str, Any]:
    """The context ``isocell run`` gave this process (:func:`bind`), or ``{}``."""
    return dict(_GIVEN)

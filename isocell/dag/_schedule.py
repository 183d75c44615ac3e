"""The DAG's schedule and start date, as ``isocell export`` takes them: checked here, with a
message saying what to give instead, rather than by Airflow when it parses the DAG."""

from __future__ import annotations

import datetime
import re

from isocell.errors import ExportError

__all__ = ["PRESETS", "schedule_of", "start_date_of"]


def _shown(text: str) -> str:
    return text if len(text) <= 80 else f"{text[:80]}… ({len(text)} characters)"


def start_date_of(text: str | None) -> tuple[int, int, int]:
    if text is None:
        return (2024, 1, 1)
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    try:
        if not match:
            raise ValueError("not in the form YYYY-MM-DD")
        day = datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as error:
        raise ExportError(
            None,
            None,
            f"--start-date {_shown(text)!r} is not a date ({error}): give a calendar date as "
            "YYYY-MM-DD, such as 2024-01-31",
        ) from None
    return (day.year, day.month, day.day)


#: Airflow's schedule presets (``airflow.utils.dates.cron_presets``, ``@once``, ``@continuous``).
PRESETS = (
    "@once",
    "@continuous",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
)
# The five cron fields: name, lowest and highest number, and the names cron takes.
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    ),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_CRON_ITEM = re.compile(r"^(\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]+))?$")


def _cron_problem(fields: list[str]) -> str:
    """Why five or six cron fields are not a cron expression, or ``""``."""
    for text, (name, low, high, names) in zip(fields[:5], _CRON_FIELDS, strict=True):
        for item in text.split(","):
            match = _CRON_ITEM.match(item)
            if not match:
                return f"the {name} field {text!r} is not a cron field"
            if match.group(2) is not None and int(match.group(2)) == 0:
                return f"the {name} field {text!r} has a step of 0"
            for value in match.group(1).split("-"):
                if value in ("*", "?") or value.upper() in names:
                    continue
                if not value.isdigit():
                    return f"the {name} field {text!r} holds {value!r}"
                if not low <= int(value) <= high:
                    return f"the {name} field {text!r} is outside {low}-{high}"
    return ""


def schedule_of(text: str | None) -> str | None:
    if text is None or text.lower() == "none":
        return None
    fields = text.split()
    if text in PRESETS:
        return text
    problem = "it is not a known preset" if text.startswith("@") else ""
    if not problem and len(fields) not in (5, 6):
        problem = f"it has {len(fields)} fields, a cron expression has 5"
    problem = problem or _cron_problem(fields)
    if not problem:
        return text
    raise ExportError(
        None,
        None,
        f"--schedule {_shown(text)!r} is not a schedule ({problem}): give none, a preset "
        f"({', '.join(PRESETS)}) or a cron expression 'minute hour day-of-month month "
        "day-of-week', such as '0 6 * * 1'",
    )

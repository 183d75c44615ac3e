"""Secrets kept out of what a process shows, as Airflow's secrets masker does in task logs.

A secret read here (a sensitive Variable, a Connection's password) or received from the other
side (:func:`remember_secrets`) is shown as ``***`` from then on: in ``sys.stdout`` and
``sys.stderr``, and in an IPython shell also in ``display()`` and rich outputs, a cell's last
value and error messages.

Runs from source in the notebook, in every child kernel and in exported tasks (any CPython
>= 3.8, standard library only).
"""

import os
import re
import sys

__all__ = ["is_sensitive", "mask", "remember", "remember_secrets", "secret_values"]

# The secrets read so far: printed output shows them as *** (as Airflow's log masking does).
_READ = set()  # type: ignore[var-annotated]
# Airflow's rule for which Variables are secrets: a key holding one of these words (its
# default ``sensitive_var_conn_names`` plus ``[core] sensitive_var_conn_names``); every
# Connection password is one. Values shorter than 5 characters are not masked (Airflow's
# secrets masker skips them too: they would hide common words).
_SENSITIVE = (
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
    "keyfile_dict",
    "service_account",
)
_MIN_LENGTH = 5


def secret_values():  # type: ignore[no-untyped-def]
    """The secrets read so far that output must not show, longest first."""
    return sorted(_READ, key=len, reverse=True)


def is_sensitive(key):  # type: ignore[no-untyped-def]
    """Whether Airflow would mask the Variable ``key`` (its ``should_hide_value_for_key``)."""
    extra = os.environ.get("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", "")
    words = _SENSITIVE + tuple(w.strip().lower() for w in extra.split(",") if w.strip())
    return any(word in key.lower() for word in words)


def mask(text):  # type: ignore[no-untyped-def]
    """``text`` with every secret read so far replaced by ``***``."""
    secrets = secret_values()
    if not secrets or not isinstance(text, str):
        return text
    return re.sub("|".join(re.escape(s) for s in secrets), "***", text)


def remember(value):  # type: ignore[no-untyped-def]
    """A secret: from now on, this process's output shows it as ``***``."""
    if isinstance(value, str) and len(value) >= _MIN_LENGTH and value not in _READ:
        _READ.add(value)
        _mask_streams()
        _mask_displays()
    return value


def remember_secrets(values):  # type: ignore[no-untyped-def]
    """Secrets read in another process (the notebook, or a child kernel) whose values this one
    received: its output hides them too."""
    for value in values or ():
        remember(value)


def _masked(value):  # type: ignore[no-untyped-def]
    """``value`` (a display's data: str, or JSON of dicts and lists) with secrets hidden."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


class _MaskedError:
    """An exception as the kernel's error message shows it (``str``), secrets hidden."""

    def __init__(self, error):  # type: ignore[no-untyped-def]
        self._error = error

    def __str__(self):  # type: ignore[no-untyped-def]
        return mask(str(self._error))

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._error, name)


def _mask_displays():  # type: ignore[no-untyped-def]
    # What IPython shows besides streams: display() and rich outputs (display_pub.publish),
    # a cell's last value (displayhook.write_format_data) and errors (_showtraceback, whose
    # text ipykernel sends and notebooks save). Wrapped once per shell.
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "_isocell_masked", False):
        return
    publisher, hook = shell.display_pub, shell.displayhook

    def publish(data, *args, _publish=publisher.publish, **kwargs):  # type: ignore[no-untyped-def]
        return _publish(_masked(data), *args, **kwargs)

    def write_format_data(data, *args, _write=hook.write_format_data, **kwargs):  # type: ignore[no-untyped-def]
        return _write(_masked(data), *args, **kwargs)

    def showtraceback(etype, evalue, stb, _show=shell._showtraceback):  # type: ignore[no-untyped-def]
        return _show(etype, _MaskedError(evalue), _masked(stb))

    def before_cell(*info):  # type: ignore[no-untyped-def]
        _mask_streams()

    try:
        publisher.publish = publish
        hook.write_format_data = write_format_data
        shell._showtraceback = showtraceback
        shell.events.register("pre_run_cell", before_cell)
        shell._isocell_masked = True
    except (AttributeError, TypeError, KeyError):
        return


def _mask_streams():  # type: ignore[no-untyped-def]
    # The write of sys.stdout and sys.stderr, where the text still is a str. IPython (>= 9)
    # puts a write of its own over it for each cell and puts the old one back after the
    # cell, so a shell also calls this before every cell (_mask_displays).
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        write = getattr(stream, "write", None)
        if write is None or getattr(write, "_isocell_masks", False):
            continue

        def masked(text, _write=write):  # type: ignore[no-untyped-def]
            return _write(mask(text))

        masked._isocell_masks = True  # type: ignore[attr-defined]
        try:
            stream.write = masked  # type: ignore[union-attr]
        except (AttributeError, TypeError):
            continue

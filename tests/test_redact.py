"""Credentials in index URLs are hidden wherever isocell writes or shows them."""

from __future__ import annotations

import pytest

from isocell.envs._redact import redact_text, redact_url
from isocell.envs._spec import EnvSpec


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@host/simple", "https://***@host/simple"),
        ("https://token@host:8443/simple", "https://***@host:8443/simple"),
        ("https://host/simple", "https://host/simple"),
        ("file:///srv/wheels", "file:///srv/wheels"),
    ],
)
def test_a_url_loses_its_credentials(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_log_line_loses_every_urls_credentials() -> None:
    line = "$ uv pip install --index-url https://u:pw@a/simple --extra-index-url http://t@b/x six"
    assert redact_text(line) == (
        "$ uv pip install --index-url https://***@a/simple --extra-index-url http://***@b/x six"
    )
    assert redact_text("user@example.com wrote") == "user@example.com wrote"


def test_credentials_are_not_part_of_the_spec_or_its_key() -> None:
    bare = EnvSpec("/usr/bin/python3", "3.11.7", ("six",), index_url="https://h/simple")
    secret = EnvSpec("/usr/bin/python3", "3.11.7", ("six",), index_url="https://u:p@h/simple")
    assert secret.to_dict()["index_url"] == "https://***@h/simple"
    assert secret.index_url == "https://u:p@h/simple"  # kept in memory for the build
    other = EnvSpec("/usr/bin/python3", "3.11.7", ("six",), index_url="https://u:q@h/simple")
    assert secret.key == other.key == bare.key
    # read back (a rebuild from the registry), the placeholder is no user name
    again = EnvSpec.from_dict(secret.to_dict())
    assert again.index_url == "https://h/simple" and again.key == secret.key

"""The payload file format: header + aligned out-of-band buffers, mapped back without a copy."""

from __future__ import annotations

import pytest

from isocell.transfer._wire import payload_file


def test_round_trip_keeps_items_and_buffers(tmp_path):
    path = tmp_path / "payload"
    big = bytes(range(256)) * 4099  # not a multiple of the alignment
    written = payload_file.write_payload(path, {"a": [1, "two"]}, [b"xyz", big, b""])
    assert written == path.stat().st_size
    items, buffers = payload_file.read_payload(path)
    assert items == {"a": [1, "two"]}
    assert [bytes(b) for b in buffers] == [b"xyz", big, b""]
    # buffers start on 64-byte boundaries of the mapping
    assert all(b.obj is buffers[0].obj for b in buffers)


def test_mapped_buffers_are_writable_and_do_not_change_the_file(tmp_path):
    path = tmp_path / "payload"
    payload_file.write_payload(path, None, [b"\x01" * 100])
    _, buffers = payload_file.read_payload(path)
    buffers[0][0] = 7  # copy-on-write: the process sees it...
    assert buffers[0][0] == 7
    _, again = payload_file.read_payload(path)
    assert again[0][0] == 1  # ...the file does not


def test_buffers_outlive_the_deleted_file(tmp_path):
    path = tmp_path / "payload"
    payload_file.write_payload(path, "x", [b"kept" * 1000])
    _, buffers = payload_file.read_payload(path)
    path.unlink()
    assert bytes(buffers[0][:4]) == b"kept"


def test_no_buffers_and_many_buffers(tmp_path):
    payload_file.write_payload(tmp_path / "none", {"k": 1}, [])
    assert payload_file.read_payload(tmp_path / "none") == ({"k": 1}, [])
    many = [bytes([i % 256]) * i for i in range(300)]  # a header larger than the first estimate
    payload_file.write_payload(tmp_path / "many", list(range(1000)), many)
    items, buffers = payload_file.read_payload(tmp_path / "many")
    assert items == list(range(1000)) and [bytes(b) for b in buffers] == many


def test_not_a_payload_is_a_clear_error(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"not a payload at all")
    with pytest.raises(ValueError, match="not an isocell payload"):
        payload_file.read_payload(path)
    (tmp_path / "short").write_bytes(b"x")
    with pytest.raises(ValueError, match="truncated"):
        payload_file.read_payload(tmp_path / "short")

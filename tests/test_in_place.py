"""What a cell changed in place comes back into the notebook's own object (issue #14):
isocell.transfer._wire.in_place, and the payload's one-object-one-encoding rule."""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd

from isocell.transfer._wire import exchange, in_place


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


class Slotted:
    __slots__ = ("x",)

    def __init__(self, x: int) -> None:
        self.x = x


def test_containers_and_instances_change_in_place() -> None:
    cases = [
        ([1], [1, 2]),
        ({"a": 1}, {"b": 2}),
        ({1}, {2, 3}),
        (bytearray(b"ab"), bytearray(b"xyz")),
        (collections.OrderedDict(a=1), collections.OrderedDict(b=2)),
    ]
    for old, new in cases:
        alias = old
        assert in_place.update(old, new)
        assert alias is old and old == new
    point, alias = Point(1), None
    alias = point
    assert in_place.update(point, Point(2)) and alias.x == 2


def test_an_array_writes_through_to_its_base() -> None:
    grid = np.arange(6).reshape(2, 3)
    view = grid[:1, :2]
    changed = view.copy()
    changed[0, 0] = 99
    assert in_place.update(view, changed)
    assert grid[0, 0] == 99


def test_a_frame_changes_in_place() -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    alias = frame
    changed = frame.copy()
    changed["b"] = [3, 4]
    assert in_place.update(frame, changed)
    assert list(alias.columns) == ["a", "b"]


def test_what_cannot_change_in_place_is_left_as_it_was() -> None:
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    refused = [
        (np.zeros(3), np.zeros(4)),  # another shape
        (np.zeros(3), np.zeros(3, dtype=np.int32)),  # another dtype
        (frozen, np.ones(3)),  # read-only
        ([1], (1, 2)),  # another type
        (Slotted(1), Slotted(2)),  # no __dict__
        ((1,), (2,)),  # immutable
    ]
    for old, new in refused:
        before = repr(old)
        assert not in_place.update(old, new)
        assert repr(old) == before


def test_one_object_under_two_names_is_encoded_once_and_arrives_as_one(tmp_path) -> None:
    shared = np.arange(1000)
    path = tmp_path / "payload"
    exchange.pack(path, {"a": shared, "b": shared, "c": [1]}, None, {})
    unpacked = exchange.Unpacked(path)
    assert unpacked.items["b"] == ["same", "a", False]
    namespace: dict = {}
    unpacked.apply(namespace)
    assert namespace["a"] is namespace["b"]
    assert namespace["c"] == [1]


def test_a_changed_input_updates_the_notebooks_object(tmp_path) -> None:
    items = [1]
    namespace = {"items": items, "other": items}
    path = tmp_path / "payload"
    exchange.pack(path, {"items": [1, 2]}, None, {})
    exchange.Unpacked(path).apply(namespace, changed={"items"})
    assert namespace["items"] is items and namespace["other"] == [1, 2]


def test_a_view_is_placed_in_the_array_it_was_made_of() -> None:
    from isocell.transfer import array_views

    grid = np.arange(12).reshape(3, 4)
    made = {"corner": grid[1:, 2:], "column": grid[:, 1], "apart": np.arange(3)[1:]}
    hints = array_views.hints(made, {"grid": grid, **made})
    assert set(hints) == {"corner", "column"}  # `apart` views no array of the namespace
    notebook_grid = grid.copy()  # the notebook's own array, as the child's copy was made
    for name in ("corner", "column"):
        view = array_views.view_of(notebook_grid, hints[name][0], made[name].copy())
        assert view is not None and np.shares_memory(view, notebook_grid)
        assert np.array_equal(view, made[name])
    # another layout, or other contents: no view
    assert array_views.view_of(np.asfortranarray(grid), hints["corner"][0], made["corner"]) is None
    changed = grid.copy()
    changed[2, 3] = -1
    assert array_views.view_of(changed, hints["corner"][0], made["corner"]) is None

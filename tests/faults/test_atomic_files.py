"""Files outside Delta are replaced in one step: the journal, single files, the exports folder."""

from __future__ import annotations

import os
from pathlib import Path

from clnet_spark import io


def _fill(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_write_text_atomic_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state" / "run_state.json"
    io.write_text_atomic(target, '{"a": 1}')
    io.write_text_atomic(target, '{"a": 2}')
    assert target.read_text() == '{"a": 2}'
    assert [p.name for p in target.parent.iterdir()] == ["run_state.json"]


def test_publish_swaps_the_whole_folder_and_keeps_one_previous(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    first = _fill(io.staging_folder(exports), {"a.csv": "1", "b.csv": "1"})
    io.publish_folder(first, exports)
    assert exports.is_symlink() and not os.path.isabs(os.readlink(exports))
    assert {p.name: p.read_text() for p in exports.iterdir()} == {"a.csv": "1", "b.csv": "1"}

    abandoned = _fill(io.staging_folder(exports), {"a.csv": "half"})  # a killed run's folder
    second = _fill(io.staging_folder(exports), {"a.csv": "2"})
    io.publish_folder(second, exports)
    assert {p.name: p.read_text() for p in exports.iterdir()} == {"a.csv": "2"}
    assert not abandoned.exists()
    third = _fill(io.staging_folder(exports), {"a.csv": "3", "c.csv": "3"})
    io.publish_folder(third, exports)
    assert {p.name: p.read_text() for p in exports.iterdir()} == {"a.csv": "3", "c.csv": "3"}
    # the version a reader may still hold (second) is kept; the first and the abandoned go
    assert sorted(p.name for p in third.parent.iterdir()) == sorted([second.name, third.name])
    assert not first.exists()
    assert not list(tmp_path.glob(".exports.*.link"))


def test_a_plain_exports_folder_from_before_versions_is_taken_over(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    _fill(exports, {"old.csv": "old"})
    new = _fill(io.staging_folder(exports), {"new.csv": "new"})
    io.publish_folder(new, exports)
    assert exports.is_symlink()
    assert [p.name for p in exports.iterdir()] == ["new.csv"]
    assert (new.parent / "0-unversioned" / "old.csv").read_text() == "old"


def test_a_link_left_between_creation_and_rename_is_removed(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    stale = tmp_path / ".exports.deadbeef.link"
    stale.symlink_to("nowhere")
    io.publish_folder(_fill(io.staging_folder(exports), {"a.csv": "1"}), exports)
    assert not stale.is_symlink() and (exports / "a.csv").read_text() == "1"

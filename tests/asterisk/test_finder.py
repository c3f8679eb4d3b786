"""Where the suite finds Asterisk: $ASTERISK, then shared/asterisk-22 above the repository, then
PATH; the one line it skips with when there is none."""

from __future__ import annotations

from pathlib import Path

from realpbx import find_asterisk


def executable(path: Path, script: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{script}")
    path.chmod(0o755)
    return path


def test_asterisk_variable_first(tmp_path):
    chosen = executable(tmp_path / "mine" / "asterisk")
    executable(tmp_path / "shared" / "asterisk-22" / "asterisk")
    on_path = executable(tmp_path / "bin" / "asterisk")
    found = find_asterisk({"ASTERISK": str(chosen), "PATH": str(on_path.parent)}, repo=tmp_path / "repo")
    assert found.path == str(chosen)


def test_asterisk_variable_not_executable_is_the_reason(tmp_path):
    executable(tmp_path / "shared" / "asterisk-22" / "asterisk")
    found = find_asterisk({"ASTERISK": str(tmp_path / "nowhere"), "PATH": ""}, repo=tmp_path / "repo")
    assert found.path is None
    assert (
        found.reason == f"real-PBX suite skipped: $ASTERISK={tmp_path / 'nowhere'} is not an executable file"
    )


def test_shared_beside_the_repository_before_path(tmp_path):
    shared = executable(tmp_path / "shared" / "asterisk-22" / "asterisk")
    on_path = executable(tmp_path / "bin" / "asterisk")
    found = find_asterisk({"PATH": str(on_path.parent)}, repo=tmp_path / "repo")
    assert found.path == str(shared)


def test_shared_above_a_worktree(tmp_path):
    shared = executable(tmp_path / "shared" / "asterisk-22" / "asterisk")
    found = find_asterisk({"PATH": ""}, repo=tmp_path / "wt" / "branch")
    assert found.path == str(shared)


def test_path_last(tmp_path):
    on_path = executable(tmp_path / "bin" / "asterisk")
    found = find_asterisk({"PATH": f"{tmp_path / 'empty'}:{on_path.parent}"}, repo=tmp_path / "repo")
    assert found.path == str(on_path)


def test_a_file_that_is_not_executable_is_not_found(tmp_path):
    shared = tmp_path / "shared" / "asterisk-22" / "asterisk"
    shared.parent.mkdir(parents=True)
    shared.write_text("")
    found = find_asterisk({"PATH": ""}, repo=tmp_path / "repo")
    assert found.path is None


def test_none_found_is_one_line_saying_why(tmp_path):
    found = find_asterisk({"PATH": str(tmp_path)}, repo=tmp_path / "repo")
    assert found.path is None
    assert found.reason.startswith("real-PBX suite skipped: no Asterisk")
    assert "$ASTERISK unset" in found.reason and "PATH" in found.reason
    assert "\n" not in found.reason


def test_an_asterisk_that_dies_as_it_starts_is_the_reason(tmp_path):
    """A build for another processor: found, but killed by SIGILL at once (as the shared build is
    on a CPU without the instructions it was compiled for)."""
    shared = executable(tmp_path / "shared" / "asterisk-22" / "asterisk", "kill -ILL $$\n")
    found = find_asterisk({"PATH": ""}, repo=tmp_path / "repo")
    assert found.path is None
    assert found.reason == (
        f"real-PBX suite skipped: {shared} found, but it is killed by SIGILL as it starts "
        "(built for another processor: an instruction this CPU lacks)"
    )


def test_an_asterisk_that_runs_is_found(tmp_path):
    shared = executable(tmp_path / "shared" / "asterisk-22" / "asterisk", "exit 1\n")
    found = find_asterisk({"PATH": ""}, repo=tmp_path / "repo")
    assert found.path == str(shared)

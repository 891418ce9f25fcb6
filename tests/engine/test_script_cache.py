"""The compiled-script cache is validated by one stat per request (RT-SCRIPT-2), as
opcache with ``validate_timestamps=1`` and ``revalidate_freq=0`` stats the file and
compiles it only when it is new or has changed."""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import Any

import pytest

from phprt.engine import script
from phprt.engine.script import compile_script


@pytest.mark.clause("RT-SCRIPT-2")
def test_a_cached_script_is_stated_once_and_not_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "page.py"
    path.write_text("x = 1\n")
    first = compile_script(str(path))
    calls: list[str] = []
    real_stat, real_open = os.stat, builtins.open

    def stat(*args: Any, **kwargs: Any) -> os.stat_result:
        calls.append("stat")
        return real_stat(*args, **kwargs)

    def opened(*args: Any, **kwargs: Any) -> Any:
        calls.append("open")
        return real_open(*args, **kwargs)

    monkeypatch.setattr(script.os, "stat", stat)
    monkeypatch.setattr(builtins, "open", opened)
    assert compile_script(str(path)) is first
    assert calls == ["stat"]
    calls.clear()
    path.write_text("x = 22\n")  # changed: read and compiled again
    second = compile_script(str(path))
    assert calls == ["stat", "open"] and second is not first and second.co_consts != first.co_consts


@pytest.mark.clause("RT-SCRIPT-2")
def test_a_same_size_change_is_seen_by_its_modification_time(tmp_path: Path) -> None:
    path = tmp_path / "page.py"
    path.write_text("x = 1\n")
    os.utime(path, ns=(10**18, 10**18))
    first = compile_script(str(path))
    path.write_text("x = 2\n")  # same size, same inode
    os.utime(path, ns=(10**18 + 1, 10**18 + 1))
    assert compile_script(str(path)).co_consts != first.co_consts


@pytest.mark.clause("RT-SCRIPT-2")
def test_a_deleted_script_is_not_served_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "page.py"
    path.write_text("x = 1\n")
    compile_script(str(path))
    path.unlink()
    with pytest.raises(FileNotFoundError):
        compile_script(str(path))

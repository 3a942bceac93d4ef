"""The cache on disk (symdescent.cache): where it lives, atomic writes, verification, eviction."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from symdescent import cache

ENTRY = {"names": ["x"], "payload": "π" * 10}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "symdescent"


def entry_file(folder: Path, key: str) -> Path:
    return folder / f"{key}{cache.SUFFIX}"


def test_the_directory_follows_xdg_and_ignores_a_relative_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.directory() == str(tmp_path / "symdescent")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # the XDG spec: relative paths are invalid, ignore them
    assert os.path.isabs(cache.directory())


@pytest.mark.parametrize(("value", "on"), [("0", False), ("off", False), ("no", False), ("1", True), ("", True)])
def test_symdescent_cache_switches_it_off(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    monkeypatch.setenv("SYMDESCENT_CACHE", value)
    assert cache.enabled() is on


def test_the_key_separates_its_parts() -> None:
    assert cache.key("ab", "c") != cache.key("a", "bc")
    assert cache.key("x", None) != cache.key("x", "None")
    assert cache.key("x**2") == cache.key("x**2")
    assert len(cache.key("x")) == 64


def test_a_stored_entry_loads_and_the_directory_and_file_are_private(folder: Path) -> None:
    assert cache.store("k1", ENTRY, folder)
    assert cache.load("k1", folder) == {**ENTRY, "key": "k1"}
    if os.name == "posix":
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0
        assert stat.S_IMODE(entry_file(folder, "k1").stat().st_mode) & 0o077 == 0
    assert [p.name for p in folder.iterdir()] == [f"k1{cache.SUFFIX}"]  # no temporary file left behind


def test_a_missing_entry_or_directory_is_a_miss(folder: Path) -> None:
    assert cache.load("nothing", folder) is None
    cache.store("k1", ENTRY, folder)
    assert cache.load("k2", folder) is None


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[:-5], id="truncated"),
        pytest.param(lambda data: data[: data.index(b"\n")], id="body-missing"),
        pytest.param(lambda data: data.replace(b'"x"', b'"y"'), id="altered-body"),
        pytest.param(lambda data: data.replace(b"symdescent-cache 1 ", b"symdescent-cache 0 "), id="older-format"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: b"\x00" * len(data), id="zeros"),
    ],
)
def test_a_damaged_entry_is_ignored(folder: Path, damage: object) -> None:
    cache.store("k1", ENTRY, folder)
    path = entry_file(folder, "k1")
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    assert cache.load("k1", folder) is None


def test_an_entry_renamed_to_another_key_is_ignored(folder: Path) -> None:
    cache.store("k1", ENTRY, folder)
    os.replace(entry_file(folder, "k1"), entry_file(folder, "k2"))
    assert cache.load("k2", folder) is None


def test_a_consistent_entry_with_a_recomputed_digest_still_needs_the_right_key(folder: Path) -> None:
    forged = cache.encode({**ENTRY, "key": "other"})
    folder.mkdir(parents=True, mode=0o700)
    entry_file(folder, "k1").write_bytes(forged)
    assert cache.load("k1", folder) is None


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_directory_others_can_write_is_not_used(folder: Path) -> None:
    cache.store("k1", ENTRY, folder)
    folder.chmod(0o777)
    assert cache.load("k1", folder) is None
    assert not cache.store("k2", ENTRY, folder)
    assert "others can write" in (cache.problem_with(folder) or "")
    folder.chmod(0o700)
    assert cache.load("k1", folder) is not None


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_entry_others_can_write_or_a_symlink_is_not_used(folder: Path, tmp_path: Path) -> None:
    cache.store("k1", ENTRY, folder)
    path = entry_file(folder, "k1")
    path.chmod(0o666)
    assert cache.load("k1", folder) is None
    path.chmod(0o600)
    elsewhere = tmp_path / "elsewhere"
    os.replace(path, elsewhere)
    path.symlink_to(elsewhere)
    assert cache.load("k1", folder) is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a file away")
def test_an_entry_owned_by_someone_else_is_not_used(folder: Path) -> None:
    cache.store("k1", ENTRY, folder)
    os.chown(entry_file(folder, "k1"), 12345, 12345)
    assert cache.load("k1", folder) is None


def test_a_file_where_the_directory_should_be_disables_the_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "symdescent"
    blocker.write_text("not a directory")
    assert not cache.store("k1", ENTRY, blocker)
    assert cache.load("k1", blocker) is None
    assert cache.problem_with(blocker) == "it is not a directory"


def test_the_least_recently_used_entries_are_evicted(folder: Path) -> None:
    for i in range(5):
        cache.store(f"k{i}", ENTRY, folder)
        os.utime(entry_file(folder, f"k{i}"), (1000 + i, 1000 + i))
    cache.load("k0", folder)  # a hit makes k0 the most recently used
    assert cache.evict(folder, keep=3) == 2
    assert sorted(p.name.split(".")[0] for p in folder.iterdir()) == ["k0", "k3", "k4"]


def test_the_cache_stays_bounded(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 4)
    for i in range(10):
        cache.store(f"k{i}", ENTRY, folder)
    assert cache.info(folder).entries == 4


def test_concurrent_writers_of_one_entry_leave_a_whole_entry(folder: Path) -> None:
    entries = [{"names": ["x"], "payload": str(i) * 5000} for i in range(8)]
    seen: list[object] = []

    def write(entry: dict[str, object]) -> None:
        for _ in range(20):
            cache.store("shared", entry, folder)
            seen.append(cache.load("shared", folder))

    threads = [threading.Thread(target=write, args=(entry,)) for entry in entries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [{**entry, "key": "shared"} for entry in entries]
    assert all(item in expected for item in seen)  # never a torn or half-written entry
    assert cache.load("shared", folder) in expected
    assert [p.name for p in folder.iterdir()] == [f"shared{cache.SUFFIX}"]


def test_info_and_clear(folder: Path) -> None:
    assert cache.info(folder).entries == 0
    cache.store("k1", ENTRY, folder)
    cache.store("k2", ENTRY, folder)
    (folder / ".k3.1.tmp").write_bytes(b"left by a killed writer")
    about = cache.info(folder)
    assert about.entries == 2
    assert about.size == sum(entry_file(folder, k).stat().st_size for k in ("k1", "k2"))
    assert cache.clear(folder) == 2
    assert list(folder.iterdir()) == []


def test_an_oversized_entry_is_not_written(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRY_BYTES", 100)
    assert not cache.store("big", {"payload": "x" * 200}, folder)
    assert cache.load("big", folder) is None


def test_the_digest_is_sha256() -> None:
    import hashlib

    assert cache.sha256(b"symdescent").hexdigest() == hashlib.sha256(b"symdescent").hexdigest()

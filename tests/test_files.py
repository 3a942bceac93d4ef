"""Every file the program reads or writes (issue #19): written whole or not at all, read within bounds,
refused in one line, and the cache acting only on what it made."""

from __future__ import annotations

import errno
import io
import itertools
import os
import resource
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import cli

from symdescent import cache, files
from symdescent.errors import InputError
from symdescent.parsing import parse_constant
from symdescent.values import DECIMAL, decimal_float
from symdescent.vectors import datafile
from symdescent.vectors.data import read_file

ROOT = Path(__file__).resolve().parent.parent
VECTOR = ["run", "sum((x-1)^2)", "--start", "x=[1,2,3]", "--steps", "3", "-q"]
ENTRY = {"names": ["x"], "code": "_x0"}


def one_error(out, *needles: str) -> str:
    """The run failed with exit 2 and one Error line (at most a Hint), nothing on stdout, no traceback."""
    lines = out.stderr.splitlines()
    assert out.exit_code == 2, out.stderr
    assert lines and lines[0].startswith("Error: ") and len(lines) <= 2, out.stderr
    assert len(lines) == 1 or lines[1].startswith("Hint: ")
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- item 1: the cache acts only on what it made -----------------------------------------------------


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    home.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def _someone_elses(folder: Path) -> list[Path]:
    """A folder with what looks like cache files (valid entries, a temporary file) that the cache did not make."""
    folder.mkdir(mode=0o700)
    cache.store("a" * 64, ENTRY, folder)
    (folder / "b.tmp").write_text("not the cache's")
    return sorted(folder.iterdir())


def test_clear_and_info_leave_a_linked_cache_folder_alone(xdg: Path, tmp_path: Path) -> None:
    kept = _someone_elses(tmp_path / "elsewhere")
    (xdg / "symdescent").symlink_to(tmp_path / "elsewhere")
    info = cli("cache", "info")
    assert "not used: it is a symbolic link" in info.stdout and "entries    0 " in info.stdout
    one_error(cli("cache", "clear"), "left alone", "symbolic link")
    assert sorted((tmp_path / "elsewhere").iterdir()) == kept


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="no owners or permission bits")
def test_clear_leaves_a_world_writable_cache_folder_alone(xdg: Path) -> None:
    kept = _someone_elses(xdg / "symdescent")
    (xdg / "symdescent").chmod(0o777)
    assert "entries    0 " in cli("cache", "info").stdout
    one_error(cli("cache", "clear"), "others can write")
    assert sorted((xdg / "symdescent").iterdir()) == kept


def test_clear_removes_only_entries_that_verify(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    good = "a" * 64
    cache.store(good, ENTRY, folder)
    (folder / f"{'b' * 64}{cache.SUFFIX}").write_bytes(b"symdescent-cache 1 0000\n{}")  # wrong digest
    outside = tmp_path / "precious.entry"
    outside.write_text("keep me")
    (folder / f"{'c' * 64}{cache.SUFFIX}").symlink_to(outside)
    assert cache.info(folder).entries == 1
    assert cache.clear(folder) == 1
    assert sorted(p.name for p in folder.iterdir()) == [f"{'b' * 64}{cache.SUFFIX}", f"{'c' * 64}{cache.SUFFIX}"]
    assert outside.read_text() == "keep me"


def test_the_cache_store_writes_through_the_one_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cache"

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)
    assert cache.store("k", ENTRY, folder) is False
    assert list(folder.iterdir()) == []  # no entry, no temporary file


# -- item 2: written whole or not at all -------------------------------------------------------------


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt), files.written_whole(target, "the saved point", text=True) as handle:
        handle.write("1.0\n" * 1000)
        raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_failed_write_says_so_and_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.npy"
    target.write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)
    out = cli(*VECTOR, "--save", str(target))
    line = one_error_after_output(out)
    assert line == f"Error: could not write the saved point to {str(target)!r}: No space left on device; " + (
        "the file was left unchanged"
    )
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.npy"]


def one_error_after_output(out) -> str:
    """The run itself printed its result; the write after it failed with exit 2 and one Error line."""
    lines = out.stderr.splitlines()
    assert out.exit_code == 2 and "Traceback" not in out.stderr and "internal error" not in out.stderr
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and "cannot write the output" not in errors[0]
    return errors[0]


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="no file size limit to set")
def test_a_full_disk_during_save_keeps_the_old_file_and_names_it(executable: Path, tmp_path: Path) -> None:
    """A real process that may write no file over 64 kB (EFBIG, as a full disk's ENOSPC): the old file stays."""
    target = tmp_path / "big.csv"
    target.write_text("old\n")

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    command = ["run", "sum((x-1)^2)", "--start", "x=ones(100000)", "--steps", "1", "-q", "--save", str(target)]
    done = subprocess.run(
        [str(executable), *command],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=small_files,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"Error: could not write the saved point to {str(target)!r}: File too large; the file was left unchanged"
    )
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["big.csv"]


def test_a_link_at_the_save_target_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    out = cli(*VECTOR, "--save", str(link))
    assert out.exit_code == 4, out.stderr
    assert victim.read_text() == "not yours"
    assert not link.is_symlink() and len(link.read_text().splitlines()) == 3


def test_save_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    assert cli(*VECTOR, "--save", str(target)).exit_code == 4
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_plot_pictures_are_written_by_the_one_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "path.png"
    target.write_bytes(b"old picture")
    seen: list[str] = []
    real = files.written_whole

    def spy(path, what, **kwargs):
        seen.append(what)
        return real(path, what, **kwargs)

    monkeypatch.setattr("symdescent.render.plot.written_whole", spy)
    assert cli("run", "x^2", "--start", "1", "--steps", "2", "-q", "--plot", str(target)).exit_code == 4
    assert seen == ["the picture"] and target.read_bytes().startswith(b"\x89PNG")


# -- item 3: --save out.NPY writes exactly out.NPY ---------------------------------------------------


def test_save_to_an_upper_case_npy_writes_exactly_that_file(tmp_path: Path) -> None:
    target = tmp_path / "out.NPY"
    out = cli(*VECTOR, "--save", str(target))
    assert out.exit_code == 4
    assert f"Point written to {target}" in out.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["out.NPY"]
    with target.open("rb") as handle:
        assert np.load(handle).shape == (3,)


# -- item 12: the --save and --plot targets are checked before the run -------------------------------


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("nodir/out.npy", "does not exist"),
        ("folder", "it is a folder"),
        ("loop/out.csv", "symbolic link loop"),
        ("", "no file name given"),
        ("   ", "no file name given"),
        ("out.txt", "use a .npy or .csv file"),
        ("file.csv/out.csv", "is not a folder"),
        ("fifo.csv", "a device, a pipe or a socket"),
        ("to-fifo.csv", "a device, a pipe or a socket"),  # a link to a FIFO: neither replaced nor written through
        (os.devnull, "a device, a pipe or a socket"),
    ],
)
def test_a_bad_save_target_is_refused_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, needle: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "file.csv").write_text("")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.csv")
        (tmp_path / "to-fifo.csv").symlink_to(tmp_path / "fifo.csv")
    target = "folder.csv" if name == "folder" else name
    out = cli(*VECTOR, "--save", target)
    one_error(out, needle)
    assert out.stdout == ""  # refused before the first step


def test_a_read_only_save_folder_is_refused_before_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission bits do not stop root: the folder's refusal is simulated where the probe file is created."""
    real_open = os.open

    def refusing(path, flags, *args, **kwargs):
        if str(path).startswith(str(tmp_path)) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", refusing)
    out = cli(*VECTOR, "--save", str(tmp_path / "out.csv"))
    one_error(out, "Permission denied")
    assert out.stdout == ""


def test_a_read_only_file_is_not_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(0o444)
    if os.access(target, os.W_OK):  # root may write anything: simulate what everyone else sees
        monkeypatch.setattr(files.os, "access", lambda path, mode: False)
    one_error(cli(*VECTOR, "--save", str(target)), "the file is read-only")
    assert target.read_text() == "old\n"


@pytest.mark.parametrize("command", [["run", "x^2", "--start", "1"], ["compare", "x^2", "--start", "1"]])
def test_an_empty_plot_name_is_refused(command: list[str]) -> None:
    out = cli(*command, "--plot", "")
    one_error(out, "no file name given for the picture")
    assert out.stdout == ""


# -- item 11: an unreadable data file is one line ----------------------------------------------------


@pytest.fixture
def unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data file this process may not read (chmod 000; for root, whose reads always succeed, simulated)."""
    path = tmp_path / "secret.csv"
    path.write_text("t,y\n1,2\n3,4\n")
    path.chmod(0)
    if os.access(path, os.R_OK):
        real_open = os.open

        def refusing(name, flags, *args, **kwargs):
            if os.fspath(name) == str(path):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(name, flags, *args, **kwargs)

        monkeypatch.setattr(datafile.os, "open", refusing)
    return path


@pytest.mark.parametrize(
    "options",
    [
        ["--data", "{f}", "--start", "a=0"],
        ["--data", "y={f}", "--start", "a=0"],
        ["--start", "x=@{f}"],
        ["--param", "y=@{f}", "--start", "a=0"],
    ],
)
def test_an_unreadable_data_file_is_one_line(unreadable: Path, options: list[str]) -> None:
    filled = [o.format(f=unreadable) for o in options]
    out = cli("run", "sum((a-y)^2)" if "a=0" in filled else "sum(x^2)", *filled, "-q")
    one_error(out, str(unreadable), "cannot be read: permission denied")


# -- item 8: bounded reading -------------------------------------------------------------------------


def test_a_data_file_over_the_size_limit_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "y.csv"
    path.write_text("1\n" * 100)
    monkeypatch.setenv("SYMDESCENT_DATA_LIMIT", "150")
    out = cli("run", "sum((a-y)^2)", "--data", f"y={path}", "--start", "a=0", "-q")
    one_error(out, "is 200 bytes, more than the 150 bytes a data file may have")
    assert "SYMDESCENT_DATA_LIMIT" in out.stderr.splitlines()[1]


def test_a_line_longer_than_the_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("1\n2\n" + "1," * 600_000 + "1\n")
    with pytest.raises(InputError, match=r"wide\.csv, line 3: longer than 1,000,000 characters"):
        read_file(str(path))


def test_a_long_file_is_read_in_pieces_and_agrees_with_numpy(tmp_path: Path) -> None:
    values = np.random.default_rng(0).normal(size=(30_000, 3)) * 10.0 ** np.arange(-3, 3, 2)
    path = tmp_path / "big.csv"
    np.savetxt(path, values, delimiter=",", header="a,b,c", comments="", fmt="%.17g")
    header, table = read_file(str(path))
    assert header == ["a", "b", "c"]
    assert np.array_equal(table, values)


def test_an_error_far_into_a_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "y.csv"
    path.write_text("1,2\n" * 50_000 + "3,x\n")
    with pytest.raises(InputError, match=r"y\.csv, line 50001, column 2: 'x' is not a number"):
        read_file(str(path))


def test_ctrl_c_is_heard_within_a_second_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is parsed in chunks of about 1 MB (some 50 ms each) with Python in between, so Ctrl-C, sent
    from another thread before the third chunk, stops the reading within a chunk or two, not after all 36
    (one call for the whole file would never be interrupted): counted in chunks, not timed, so a loaded
    machine cannot make it fail."""
    path = tmp_path / "long.csv"
    path.write_text("0.5,0.25\n" * 4_000_000)  # 36 MB: 36 chunks
    monkeypatch.setenv("SYMDESCENT_DATA_LIMIT", "1GB")
    parsed: list[int] = []
    at_signal: list[int] = []
    add_chunk = datafile._Table.add_chunk

    def interrupt() -> None:
        at_signal.append(len(parsed))
        signal.raise_signal(signal.SIGINT)

    def counting(table: object, chunk: str) -> None:
        if len(parsed) == 2:
            sender = threading.Thread(target=interrupt)
            sender.start()
            sender.join()  # the signal is pending: the main thread hears it at its next instruction
        add_chunk(table, chunk)  # type: ignore[arg-type]  # the real method, counted
        parsed.append(1)

    monkeypatch.setattr(datafile._Table, "add_chunk", counting)
    with pytest.raises(KeyboardInterrupt):
        read_file(str(path))
    assert at_signal == [2] and len(parsed) - at_signal[0] <= 2


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (np.array([1 + 2j, 3]), "holds complex numbers"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "holds dates (datetime64)"),
        (np.array([1, "a"], dtype=object), "holds Python objects"),
        (np.array(["a", "b"]), "holds text"),
    ],
)
def test_only_numeric_npy_files_are_read(tmp_path: Path, array: np.ndarray, needle: str) -> None:
    path = tmp_path / "x0.npy"
    np.save(path, array, allow_pickle=True)
    out = cli("run", "sum(x^2)", "--start", f"x=@{path}", "-q")
    one_error(out, needle)


def test_an_npy_header_claiming_more_than_the_file_holds_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    # 10⁶ entries: small enough for the memory rule (a claim of 10¹² is refused by it, before the reader)
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**6,)})
    path = tmp_path / "x0.npy"
    path.write_bytes(buffer.getvalue() + b"\0" * 80)
    out = cli("run", "sum(x^2)", "--start", f"x=@{path}", "-q")
    one_error(out, "its header claims 1,000,000 entries", "truncated")


def test_npy_files_of_any_numeric_dtype_and_order_read_as_numpy_does(tmp_path: Path) -> None:
    for array in (np.arange(6, dtype=">i2"), np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.array([True, False])):
        path = tmp_path / "a.npy"
        np.save(path, array)
        assert np.array_equal(read_file(str(path))[1], np.load(path).astype(float))


# -- item 16: SECURITY.md lists every file read or written -------------------------------------------


def test_security_lists_every_place_a_file_is_read_or_written() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    section = text[text.index("## Files") :]
    section = section[: section.index("\n## ", 4)]
    for place in ("--data FILE", "--data NAME=FILE", "x=@FILE", "--param NAME=@FILE", "--save FILE", "--plot FILE"):
        assert f"`{place}`" in section, place
    assert "SYMDESCENT_DATA_LIMIT" in section and "cache" in section


# -- item 19: empty names, FIFOs, link loops and numbers written otherwise ---------------------------


def test_an_empty_file_name_after_at_says_so() -> None:
    out = cli("run", "sum(x^2)", "--start", "x=@", "-q")
    assert one_error(out) == "Error: the value of x: '@' must be followed by a file name, e.g. x=@x0.npy"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_is_refused_as_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "x0.csv"
    os.mkfifo(fifo)
    out = cli("run", "sum(x^2)", "--start", f"x=@{fifo}", "-q")  # would block forever if opened for reading
    one_error(out, "is not a regular file")


def test_a_symlink_loop_is_named_as_such(tmp_path: Path) -> None:
    loop = tmp_path / "x0.csv"
    loop.symlink_to(loop)
    one_error(cli("run", "sum(x^2)", "--start", f"x=@{loop}", "-q"), "symbolic link loop")


@pytest.mark.parametrize(("cell", "needle"), [("1_000", "without '_'"), ("١٢", "ARABIC-INDIC"), ("１２", "FULLWIDTH")])
@pytest.mark.parametrize("first", [True, False])
def test_csv_refuses_the_numbers_start_values_refuse(tmp_path: Path, cell: str, needle: str, first: bool) -> None:
    path = tmp_path / "y.csv"
    path.write_text(f"{cell}\n2\n" if first else f"2\n{cell}\n", encoding="utf-8")
    one_error(cli("run", "sum((a-y)^2)", "--data", f"y={path}", "--start", "a=0", "-q"), repr(cell), needle)
    with pytest.raises(InputError):
        parse_constant(cell, "x")


def test_data_and_start_values_read_the_same_numbers() -> None:
    """Every short text over the characters of numbers: NumPy's parser (CSV chunks), the data reader and the
    start values' reader accept exactly the same ones, as the same number."""
    for size in range(1, 5):
        for letters in itertools.product("0.eE+- ", repeat=size):
            text = "".join(letters)
            mine = decimal_float(text.strip())
            try:
                numpy = np.loadtxt(io.StringIO(text + "\n"), delimiter=",", ndmin=2)
                by_numpy = float(numpy[0, 0]) if numpy.size == 1 else None
            except ValueError:
                by_numpy = None
            assert mine == by_numpy, text
            if mine is not None:
                assert float(parse_constant(text, "x")) == mine, text
    for text in ("1.", ".5", "+1", "-.5e2", "1E+5", "007"):
        assert DECIMAL.fullmatch(text) and float(parse_constant(text, "x")) == float(text)


def test_a_data_file_with_a_header_fits_and_saves(tmp_path: Path) -> None:
    data = tmp_path / "fit.csv"
    data.write_text("t,y\n" + "".join(f"{t},{2 * t + 1}\n" for t in range(50)))
    out = cli(
        *["run", "mean((a*t + b - y)^2)", "--data", str(data), "--start", "a=0,b=0", "--method", "cg", "-q"],
        *["--save", str(tmp_path / "ab.csv")],
    )
    assert out.exit_code == 0, out.stderr
    saved = dict(line.split(",") for line in (tmp_path / "ab.csv").read_text().splitlines()[1:])
    assert abs(float(saved["a"]) - 2) < 1e-6 and abs(float(saved["b"]) - 1) < 1e-6


def test_data_takes_name_at_file_as_start_values_and_param_do(tmp_path: Path) -> None:
    path = tmp_path / "y.csv"
    path.write_text("1\n2\n6\n")
    for option in ("--data", "--param"):
        out = cli("run", "sum((a-y)^2)", option, f"y=@{path}", "--start", "a=0", "-q")
        assert out.exit_code == 0 and abs(float(out.stdout) - 3.0) < 1e-6, out.stderr
    one_error(
        cli("run", "sum((a-y)^2)", "--data", "y=@", "--start", "a=0", "-q"), "'@' must be followed by a file name"
    )


def test_a_fit_picture_of_many_points_draws_a_sample_without_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    from symdescent.vectors import plot

    t = np.linspace(0, 1, 30_000)
    data = tmp_path / "fit.csv"
    np.savetxt(data, np.column_stack([t, 2 * t + 1]), delimiter=",", header="t,y", comments="", fmt="%.6g")
    figures = []
    monkeypatch.setattr(plot, "save", lambda figure, path, fmt: figures.append(figure))
    monkeypatch.setattr(plot, "MAX_DOTS", 1000)
    out = cli(
        *["run", "mean((a*t + b - y)^2)", "--data", str(data), "--start", "a=0,b=0", "--steps", "3", "-q"],
        *["--plot", str(tmp_path / "fit.png")],
    )
    assert out.exit_code == 4 and "Warning" not in out.stderr, out.stderr
    dots = figures[0].axes[1].collections[0].get_offsets()
    assert len(dots) == 1000 and dots[0][0] == 0.0


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL")
def test_a_process_killed_in_the_middle_of_a_save_leaves_the_old_file(executable: Path, tmp_path: Path) -> None:
    target = tmp_path / "big.csv"
    target.write_text("old\n")
    command = ["run", "sum((x-1)^2)", "--start", "x=ones(2000000)", "--steps", "1", "-q", "--save", str(target)]
    child = subprocess.Popen([str(executable), *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if any(_size(p) > 1_000_000 for p in [target, *tmp_path.glob(".*.tmp")]):
                break  # well into the write (wherever it goes), not the probe of the folder before the run
            time.sleep(0.005)
        child.kill()
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, "the save ended before it could be interrupted"
    assert target.read_text() == "old\n"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed or removed meanwhile
        return 0

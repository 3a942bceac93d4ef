"""``--save``: the final point of any run, in any size, to .npy or .csv.

One rule for every problem: a single vector is written as that vector (its
dtype kept, no copy); anything else as every entry in the variables' order
(.npy) or ``name,value`` lines (.csv) labelled ``x``, ``w[2]``, ``b``. A
single scalar is one value.

The file is written whole or not at all (:mod:`symdescent.files`): Ctrl-C,
SIGTERM or a full disk during the write of 10⁹ entries leave the old file as
it was. :func:`check_save_file` says before the run whether the file can be
written at all, so that a typo in the folder costs nothing.
"""

from __future__ import annotations

from symdescent.errors import InputError, install_hint
from symdescent.files import check_target, written_whole
from symdescent.result import Result

WHAT = "the saved point"
EXTENSIONS = (".npy", ".csv")


def check_save_file(path: str) -> None:
    """Everything that can be checked before a run: the name, its extension (any case) and the folder."""
    check_target(path, WHAT)
    if not path.lower().endswith(EXTENSIONS):
        raise InputError(f"cannot save to {path}: use a .npy or .csv file")


def save_point(path: str, result: Result) -> None:
    """Write ``result``'s final point to exactly ``path`` (.npy or .csv, any case), whole or not at all."""
    try:
        import numpy as np
    except ImportError:
        raise InputError("saving a point needs numpy", hint=install_hint("fast")) from None
    if not path.lower().endswith(EXTENSIONS):
        raise InputError(f"cannot save to {path}: use a .npy or .csv file")
    layout = result.layout
    one = len(layout.slots) == 1
    single = result.x[layout.names[0]] if one and layout.slots[0].shape else None
    if path.lower().endswith(".npy"):
        if hasattr(single, "dtype"):
            array = np.asarray(single)
        else:  # scalars, several variables, or exact numbers: every entry as a float64
            array = np.asarray([float(v) for v in result.flat], dtype=float)
        with written_whole(path, WHAT) as handle:  # a handle: numpy would add .npy to OUT.NPY
            np.save(handle, array)  # a single vector: its dtype kept, and no copy of 10⁹ entries
        return
    with written_whole(path, WHAT, text=True) as text:
        if one:
            text.writelines(f"{float(v)!r}\n" for v in np.ravel(np.asarray(result.flat)))
        else:
            text.write("name,value\n")
            text.writelines(f"{label},{float(v)!r}\n" for label, v in zip(layout.labels(), result.flat, strict=True))

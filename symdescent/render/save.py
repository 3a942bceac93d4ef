"""``--save``: the final point of any run, in any size, to .npy or .csv.

One rule for every problem: a single vector is written as that vector (its
dtype kept, no copy); anything else as every entry in the variables' order
(.npy) or ``name,value`` lines (.csv) labelled ``x``, ``w[2]``, ``b``. A
single scalar is one value.
"""

from __future__ import annotations

from symdescent.errors import InputError
from symdescent.result import Result


def save_point(path: str, result: Result) -> None:
    """Write ``result``'s final point to ``path`` (.npy or .csv)."""
    try:
        import numpy as np
    except ImportError:
        raise InputError("saving a point needs numpy", hint='pip install "symdescent[fast]"') from None
    layout = result.layout
    one = len(layout.slots) == 1
    single = result.x[layout.names[0]] if one and layout.slots[0].shape else None
    try:
        if path.lower().endswith(".npy"):
            if hasattr(single, "dtype"):
                array = np.asarray(single)
            else:  # scalars, several variables, or exact numbers: every entry as a float64
                array = np.asarray([float(v) for v in result.flat], dtype=float)
            with open(path, "wb") as handle:  # a handle: numpy would add .npy to OUT.NPY
                np.save(handle, array)  # a single vector: its dtype kept, and no copy of 10⁹ entries
        elif path.lower().endswith(".csv"):
            with open(path, "w") as handle:
                if one:
                    handle.writelines(f"{float(v)!r}\n" for v in np.ravel(np.asarray(result.flat)))
                else:
                    handle.write("name,value\n")
                    handle.writelines(
                        f"{label},{float(v)!r}\n" for label, v in zip(layout.labels(), result.flat, strict=True)
                    )
        else:
            raise InputError(f"cannot save to {path}: use a .npy or .csv file")
    except OSError as error:
        raise InputError(f"cannot save to {path}: {error.strerror or error}") from None

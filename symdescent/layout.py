"""Where each variable lives in the flat point: the one description of a problem's named arrays.

Every problem, whatever its kind, is a set of named arrays; a scalar is an
array of shape ``()``. The optimisers and back-ends see one flat point (a
tuple of numbers or a numpy array); a :class:`Layout` says which entries
belong to which name, labels them for people (``x``, ``w[2]``) and groups a
flat point back into ``{name: value}`` for JSON and for the library. It
imports neither SymPy nor numpy, so a warm run stays light.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

if TYPE_CHECKING:
    import numpy as np

Shape = tuple[int, ...]
#: A flat point (or gradient): a tuple of numbers, or a numpy array for array problems.
Flat: TypeAlias = "Sequence[Any] | np.ndarray"

#: Each step's entries are shown (columns, JSON ``x``/``grad``) while all variables have at most this many,
#: or while every variable is a scalar the user named.
SHOW_ENTRIES = 6
#: ``-q`` and the JSON start and result carry the whole point while it has at most this many entries.
QUIET_ENTRIES = 1000
#: The table's preview of a vector too long to show: this many first entries, then ``…``.
PREVIEW = 3


# A NamedTuple, not a frozen dataclass: a warm run defines it at start-up, ~7x cheaper.
class Slot(NamedTuple):
    """One variable: its name, its shape and its entries ``first:end`` in the flat point."""

    name: str
    shape: Shape
    first: int
    end: int


class Layout(NamedTuple):
    """The variables in order, each a slot of the flat point."""

    slots: tuple[Slot, ...]

    @classmethod
    def of(cls, names: Sequence[str], shapes: Mapping[str, Shape] | None = None) -> Layout:
        """The layout of ``names`` in order; a name without a shape is a scalar."""
        slots, position = [], 0
        for name in names:
            shape = tuple((shapes or {}).get(name, ()))
            size = math.prod(shape)
            slots.append(Slot(name, shape, position, position + size))
            position += size
        return cls(tuple(slots))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(slot.name for slot in self.slots)

    @property
    def shapes(self) -> dict[str, Shape]:
        return {slot.name: slot.shape for slot in self.slots}

    @property
    def size(self) -> int:
        """All variables' entries together."""
        return self.slots[-1].end if self.slots else 0

    @property
    def scalars_only(self) -> bool:
        return all(not slot.shape for slot in self.slots)

    @property
    def shows_entries(self) -> bool:
        """Whether each step's entries are printed (columns, JSON ``x`` and ``grad``)."""
        return self.scalars_only or self.size <= SHOW_ENTRIES

    @property
    def shows_point(self) -> bool:
        """Whether the start and final points are printed whole (JSON, ``-q``)."""
        return self.scalars_only or self.size <= QUIET_ENTRIES

    def labels(self) -> tuple[str, ...]:
        """``x, y`` or ``w[1], w[2], b``: one label per entry, 1-based like the maths."""
        out: list[str] = []
        for slot in self.slots:
            if not slot.shape:
                out.append(slot.name)
            else:
                out.extend(f"{slot.name}[{k}]" for k in range(1, slot.end - slot.first + 1))
        return tuple(out)

    def columns(self) -> list[tuple[str, int | None]]:
        """The table's entry columns, ``(label, flat index)``; ``(…, None)`` stands for entries left out.

        Every entry while :attr:`shows_entries`; else the first :data:`PREVIEW` entries of
        each vector and every scalar (a problem of many scalars only: none).
        """
        if self.shows_entries:
            return list(zip(self.labels(), range(self.size), strict=True))
        if self.scalars_only:
            return []
        out: list[tuple[str, int | None]] = []
        for slot in self.slots:
            if not slot.shape:
                out.append((slot.name, slot.first))
                continue
            for k in range(min(PREVIEW, slot.end - slot.first)):
                out.append((f"{slot.name}[{k + 1}]", slot.first + k))
            if slot.end - slot.first > PREVIEW:
                out.append(("…", None))
        return out

    def named(self, flat: Flat, convert: Callable[[Any], Any] = lambda v: v) -> dict[str, Any]:
        """``{name: value}``: a scalar's one value, a vector's entries as a list, each through ``convert``."""
        return {
            slot.name: convert(flat[slot.first])
            if not slot.shape
            else [convert(v) for v in flat[slot.first : slot.end]]
            for slot in self.slots
        }

    def arrays(self, flat: Any) -> dict[str, Any]:
        """``{name: value}`` without copying: a scalar's value, a vector as a view of ``flat`` in its shape."""
        out: dict[str, Any] = {}
        for slot in self.slots:
            if not slot.shape:
                out[slot.name] = flat[slot.first]
            else:
                view = flat[slot.first : slot.end]
                out[slot.name] = view.reshape(slot.shape) if hasattr(view, "reshape") else tuple(view)
        return out

    def flatten(self, values: Mapping[str, Any]) -> Flat:
        """The flat point of ``{name: value}``: a tuple for scalars, the array itself for one vector (no copy)."""
        if self.scalars_only:
            return tuple(values[name] for name in self.names)
        if all(isinstance(values[slot.name], tuple) for slot in self.slots if slot.shape):
            # Python scalars (exact or D-digit numbers, as :meth:`arrays` groups a tuple): a tuple, kept exact
            return tuple(v for slot in self.slots for v in (values[slot.name] if slot.shape else (values[slot.name],)))
        import numpy as np

        if len(self.slots) == 1:
            return np.ravel(values[self.slots[0].name])
        return np.concatenate([np.ravel(np.asarray(values[name], dtype=float)) for name in self.names])

    def point_text(self, flat: Flat, human: Callable[[Any], str], limit: int = SHOW_ENTRIES) -> str:
        """``x = 1, y = 2`` or ``w = [1, 2, 3, …]; b = 0.5`` for a summary line."""
        parts = []
        for slot in self.slots:
            if not slot.shape:
                parts.append(f"{slot.name} = {human(flat[slot.first])}")
                continue
            count = slot.end - slot.first
            shown = ", ".join(human(flat[slot.first + k]) for k in range(min(limit, count)))
            parts.append(f"{slot.name} = [{shown}{', …' if count > limit else ''}]")
        return ", ".join(parts)


def layout_of(problem: Any) -> Layout:
    """A problem's layout (every problem kind has ``entry_layout``)."""
    layout = problem.entry_layout
    assert isinstance(layout, Layout)
    return layout

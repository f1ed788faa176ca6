"""What the index and the model are doing, as the status line says it. No Textual: the main screen holds them."""

from __future__ import annotations

from enum import Enum


class IndexState(Enum):
    """The index's state; the value is what the status line says (nothing once it is ready)."""

    OPENING = "opening the index…"
    BUILDING = "building the index…"
    UPDATING = "updating the index…"
    REBUILDING = "rebuilding…"
    REBUILDING_FULL = "rebuilding from scratch…"
    READY = ""
    UNUSABLE = "no usable index"
    REBUILD_FAILED = "rebuild failed"
    NEEDS_MODEL = "the index needs the model"

    @property
    def label(self) -> str:
        """What the status line says."""
        return self.value

    @property
    def working(self) -> bool:
        """A worker is opening or building the index."""
        return self in _WORKING

    @property
    def building(self) -> bool:
        """A build runs: the progress bar shows."""
        return self in _BUILDING

    @property
    def rebuilding(self) -> bool:
        """A build the user asked for (F5) runs."""
        return self in {IndexState.REBUILDING, IndexState.REBUILDING_FULL}

    @classmethod
    def after_failure(cls, rebuild: bool) -> IndexState:
        """The state once opening (or, with `rebuild`, rebuilding) the index failed."""
        return cls.REBUILD_FAILED if rebuild else cls.UNUSABLE


_BUILDING = frozenset({IndexState.BUILDING, IndexState.UPDATING, IndexState.REBUILDING, IndexState.REBUILDING_FULL})
_WORKING = _BUILDING | {IndexState.OPENING}


class ModelState(Enum):
    """The embedding model's state; the value is what the status line says after the model's name."""

    LOADING = "loading…"
    READY = "ready"
    FAILED = "failed"

    @property
    def label(self) -> str:
        """What the status line says."""
        return self.value

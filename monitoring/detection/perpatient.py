"""Per-patient state holder shared by detectors: create on demand, forget, snapshot, restore."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID


class Dumpable(Protocol):
    def dump(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=Dumpable)


class PatientStates(Generic[S]):
    """One state object per patient, dumped to and loaded from JSON.

    Keyed by the UUID's integer: a ``UUID`` hashes in Python code, an ``int`` in
    C, and this lookup runs for every reading in every detector.
    """

    def __init__(self, new: Callable[[], S], load: Callable[[dict[str, Any]], S]) -> None:
        self._new = new
        self._load = load
        self._states: dict[int, S] = {}

    def __call__(self, patient_id: UUID) -> S:
        key = patient_id.int
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = self._new()
        return state

    def __len__(self) -> int:
        return len(self._states)

    def forget(self, patient_id: UUID) -> None:
        self._states.pop(patient_id.int, None)

    def snapshot(self, patient_id: UUID) -> dict[str, Any] | None:
        state = self._states.get(patient_id.int)
        return None if state is None else state.dump()

    def restore(self, patient_id: UUID, data: dict[str, Any]) -> None:
        self._states[patient_id.int] = self._load(data)


class Stateful(Generic[S]):
    """Gives a detector that keeps its state in ``_states`` the protocol's state methods."""

    _states: PatientStates[S]

    def forget(self, patient_id: UUID) -> None:
        self._states.forget(patient_id)

    def snapshot(self, patient_id: UUID) -> dict[str, Any] | None:
        return self._states.snapshot(patient_id)

    def restore(self, patient_id: UUID, state: dict[str, Any]) -> None:
        self._states.restore(patient_id, state)

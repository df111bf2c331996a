"""The emulator's own snapshot parts: ECS, ECR, and what the engine's hooks remember per task.

Each part is captured under the lock that guards it, pickled whole (snapshot.py), so new fields
of the models are kept with no code here. The live objects the stores point back at (the
EcsState, the EcrState, and whatever they hand every store: the local host, the registry, ...)
are references, given back as the new process's.
Hooks (task credentials, load balancer targets, ...) name the attributes that are state, not
machinery, in `persistent_fields`.
"""

from __future__ import annotations

from emulator.persistence import snapshot


def _state_references(state, kept: tuple[str, ...]):
    """The live state object and what it hands to its stores (its attributes: the local host,
    the registry, ...), as references by name; `kept` attributes are state, pickled."""
    names = {id(state): ("state",)}
    for name, value in vars(state).items():
        if name not in kept and not isinstance(value, (str, int, float, bytes, type(None))):
            names.setdefault(id(value), ("state", name))
    return lambda obj: names.get(id(obj))


def _resolve(state):
    return lambda pid: state if len(pid) == 1 else getattr(state, pid[1])


class EcsPart:
    """A service's stores, and the attributes of its state named in FIELDS beside them."""

    name = "ecs"
    FIELDS: tuple[str, ...] = ()

    def __init__(self, state):
        self._state = state

    def capture(self) -> bytes:
        with self._state.lock:
            value = {"stores": self._state._stores,
                     **{field: getattr(self._state, field) for field in self.FIELDS}}
            return snapshot.dumps(value, _state_references(self._state,
                                                           ("_stores", *self.FIELDS)))

    def restore(self, data: bytes) -> None:
        value = snapshot.loads(data, _resolve(self._state))
        with self._state.lock:
            self._state._stores.clear()
            self._state._stores.update(value["stores"])
            for field in self.FIELDS:
                setattr(self._state, field, value[field])


class EcrPart(EcsPart):
    name = "ecr"
    # Tokens of `docker login` and layer URLs handed out before the restart stay good.
    FIELDS = ("signing_key",)


class HooksPart:
    """What the engine's hooks and listeners remember about tasks (credentials ids handed to
    containers, targets registered), so an adopted task is still known to them."""

    name = "hooks"

    def __init__(self, state, holders: list):
        self._state = state
        self._holders = {type(h).__name__: h for h in holders
                         if getattr(h, "persistent_fields", ())}

    def capture(self) -> bytes:
        with self._state.lock:
            for attempt in range(5):
                try:
                    value = {name: {f: getattr(h, f) for f in h.persistent_fields}
                             for name, h in self._holders.items()}
                    return snapshot.dumps(value)
                except RuntimeError:  # changed while read (a hook's own lock): read again
                    if attempt == 4:
                        raise
        raise AssertionError("unreachable")

    def restore(self, data: bytes) -> None:
        for name, fields in snapshot.loads(data).items():
            holder = self._holders.get(name)
            for field, value in fields.items() if holder is not None else ():
                # A field this version's holder does not keep (a newer emulator's) is passed
                # over; one missing from the snapshot (an older one's) keeps its empty start.
                kept = getattr(holder, field, None) if field in holder.persistent_fields else None
                if kept is not None:
                    kept.update(value)

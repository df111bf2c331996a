"""Docker stats as the task metadata endpoint serves them: the Engine's JSON sample as it is, and in
v4 the network rates (bytes per second) since the previous sample of the same container.

The agent samples every few seconds in the background; we sample when asked, so the first answer
for a container has no rate yet and leaves `network_rate_stats` out, as the agent's type allows.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("emulator.metadata")

STALE_S = 600.0


class StatsSampler:
    """Samples containers on the runtime it is given: the task's Docker Engine's (engines.py)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._previous: dict[str, tuple[float, int, int]] = {}  # id -> (time, rx, tx)

    def container(self, runtime, container_id: str | None, version: int) -> dict | None:
        """One container's sample; None when Docker has none (never created, or removed)."""
        if not container_id:
            return None
        try:
            sample = runtime.stats(container_id)
        except Exception as error:  # its engine removed (RuntimeClosed), or not answering
            log.debug("no stats of container %s: %s", container_id, error)
            return None
        if not sample:
            return None
        if version >= 4:
            rates = self._rates(container_id, sample)
            if rates is not None:
                sample["network_rate_stats"] = rates
        return sample

    def task(self, runtime, container_ids: list[str | None],
             version: int) -> dict[str, dict | None]:
        """Every container's sample, keyed by Docker id. Docker takes about a second for each
        (it waits for a second CPU reading), so the containers are sampled at once."""
        ids = [cid for cid in container_ids if cid]
        if not ids:
            return {}
        with ThreadPoolExecutor(max_workers=min(len(ids), 8)) as pool:
            samples = list(pool.map(lambda cid: self.container(runtime, cid, version), ids))
        return dict(zip(ids, samples))

    def _rates(self, container_id: str, sample: dict) -> dict | None:
        networks = sample.get("networks") or {}
        rx = sum(n.get("rx_bytes", 0) for n in networks.values())
        tx = sum(n.get("tx_bytes", 0) for n in networks.values())
        now = time.monotonic()
        with self._lock:
            previous = self._previous.get(container_id)
            self._previous[container_id] = (now, rx, tx)
            # Containers come and go; a sample older than this is no base for a rate anyway.
            for stale in [k for k, v in self._previous.items() if now - v[0] > STALE_S]:
                del self._previous[stale]
            previous = previous if previous and now - previous[0] <= STALE_S else None
        if previous is None or now <= previous[0] or not networks:
            return None
        elapsed = now - previous[0]
        return {"rx_bytes_per_sec": max(rx - previous[1], 0) / elapsed,
                "tx_bytes_per_sec": max(tx - previous[2], 0) / elapsed}

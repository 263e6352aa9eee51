"""A probe of the overcloud's public endpoints that measures outages (issue 24: failover is a number).

A thread asks Keystone for a token through the public VIP five times a second, each request with a 2 s
timeout on a fresh connection (a client that lost its server reconnects), and records when each began and
whether it succeeded. An event's outage is the longest run of consecutive failed probes, from the first
failure's start to the next success's start.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["OutageProbe", "longest_outage"]

INTERVAL = 0.2  # five probes a second
TIMEOUT = 2.0


def longest_outage(samples: list[tuple[float, bool]]) -> float:
    """The longest window of consecutive failures in ``(start time, ok)`` samples, in seconds (a window
    still open at the end runs to the last sample)."""
    worst, began = 0.0, None
    for at, ok in samples:
        if not ok and began is None:
            began = at
        elif ok and began is not None:
            worst, began = max(worst, at - began), None
    if began is not None:
        worst = max(worst, samples[-1][0] - began)
    return worst


@dataclass
class OutageProbe:
    """Token requests against ``rc`` (overcloudrc's variables) in a thread: :meth:`start`, then
    :meth:`mark` before an event and :meth:`outage_since` after it."""

    rc: Mapping[str, str] = field(repr=False)
    samples: list[tuple[float, bool]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _body(self) -> bytes:
        domain = {"name": "Default"}
        user = {"name": self.rc["OS_USERNAME"], "domain": domain, "password": self.rc["OS_PASSWORD"]}
        return json.dumps({"auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": {"name": self.rc["OS_PROJECT_NAME"], "domain": domain}},
        }}).encode()  # fmt: skip

    def _once(self, url: str, body: bytes) -> bool:
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return bool(answer.status == 201)
        except (OSError, urllib.error.URLError):
            return False

    def _run(self) -> None:
        url, body = self.rc["OS_AUTH_URL"].rstrip("/") + "/v3/auth/tokens", self._body()
        while not self._stop.is_set():
            began = time.monotonic()
            self.samples.append((began, self._once(url, body)))
            self._stop.wait(max(0.0, INTERVAL - (time.monotonic() - began)))

    def start(self) -> OutageProbe:
        self._thread = threading.Thread(target=self._run, name="outage-probe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def mark(self) -> float:
        """Now, to pass to :meth:`outage_since` after the event."""
        return time.monotonic()

    def outage_since(self, mark: float) -> tuple[float, int, int]:
        """(longest outage in seconds, probes, failed probes) since ``mark``."""
        window = [s for s in list(self.samples) if s[0] >= mark]
        return longest_outage(window), len(window), sum(1 for _, ok in window if not ok)

    def answering(self, since: float) -> bool:
        """The last probe after ``since`` succeeded."""
        window = [s for s in list(self.samples) if s[0] >= since]
        return bool(window) and window[-1][1]

"""A probe of the overcloud's public endpoints that measures outages (issue 24: failover is a number).

One thread per kind of probe, together five probes a second through the public VIP, each request with a 2 s
timeout on a fresh connection (a client that lost its server reconnects); each records when it began and
whether it succeeded, and why not. The kinds: ``identity`` (a token), and any service type of the catalog
the token brought (``image``: one image, ``compute``: one server, ``object-store``: one container, each
through the catalog's public URL with the last token that Keystone gave). Each kind has its own thread: in
one thread taking turns, every probe that waited for its timeout delayed the other kinds' next probe, and a
kind's window grew by the others' timeouts (3 failed object-store probes made a window of 12 s). An event's
outage is the longest run of consecutive failed probes of one kind, from the first failure's start to the
next success's start.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["OutageProbe", "failure_windows", "longest_outage"]

INTERVAL = 0.2  # five probes a second
TIMEOUT = 2.0
IDENTITY = "identity"
PATHS = {"image": "/v2/images?limit=1", "compute": "/servers?limit=1", "object-store": "?limit=1"}


def _reason(exc: BaseException) -> str:
    """A failed request in a few words: the HTTP status, a timeout, or the socket error."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(cause, TimeoutError):
        return "timed out"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    return type(cause).__name__ if not isinstance(cause, str) else cause


def longest_outage(samples: list[tuple[float, bool]]) -> float:
    """The longest window of consecutive failures in ``(start time, ok)`` samples, in seconds (a window
    still open at the end runs to the last sample)."""
    return max((end - start for start, end, _ in failure_windows(samples)), default=0.0)


def failure_windows(samples: list[tuple[float, bool]]) -> list[tuple[float, float, int]]:
    """Each run of consecutive failures in ``(start time, ok)`` samples as (first failure's start, next
    success's start or the last sample's, failed probes)."""
    windows: list[tuple[float, float, int]] = []
    began, count = 0.0, 0
    for at, ok in samples:
        if not ok:
            began, count = (at, 1) if not count else (began, count + 1)
        elif count:
            windows.append((began, at, count))
            count = 0
    if count:
        windows.append((began, samples[-1][0], count))
    return windows


@dataclass
class OutageProbe:
    """Requests against ``rc`` (overcloudrc's variables) in a thread: :meth:`start`, then :meth:`mark` before
    an event and :meth:`outage_since` after it."""

    rc: Mapping[str, str] = field(repr=False)
    kinds: tuple[str, ...] = (IDENTITY,)
    samples: list[tuple[float, bool, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _token: str = field(default="", repr=False)
    _urls: dict[str, str] = field(default_factory=dict)
    # why each failed probe failed: (start time, kind, "timed out" / "HTTP 503" / "refused" ...)
    errors: list[tuple[float, str, str]] = field(default_factory=list)

    def _body(self) -> bytes:
        domain = {"name": "Default"}
        user = {"name": self.rc["OS_USERNAME"], "domain": domain, "password": self.rc["OS_PASSWORD"]}
        return json.dumps({"auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": {"name": self.rc["OS_PROJECT_NAME"], "domain": domain}},
        }}).encode()  # fmt: skip

    def _issue(self, url: str, body: bytes) -> tuple[bool, str]:
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                if answer.status != 201:
                    return False, f"HTTP {answer.status}"
                token = answer.headers.get("X-Subject-Token", "")
                catalog = json.loads(answer.read()).get("token", {}).get("catalog", [])
        except (OSError, urllib.error.URLError, ValueError) as exc:
            return False, _reason(exc)
        for entry in catalog:
            for endpoint in entry.get("endpoints", []):
                if endpoint.get("interface") == "public":
                    self._urls[str(entry.get("type"))] = str(endpoint.get("url", "")).rstrip("/")
        self._token = token
        return True, ""

    def _get(self, kind: str) -> tuple[bool, str]:
        url, token = self._urls.get(kind), self._token
        if not url or not token:
            return False, "no token"
        request = urllib.request.Request(url + PATHS.get(kind, ""), headers={"X-Auth-Token": token})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return bool(200 <= answer.status < 300), f"HTTP {answer.status}"
        except (OSError, urllib.error.URLError) as exc:
            return False, _reason(exc)

    def _run(self, kind: str) -> None:
        """One kind's probes, every ``INTERVAL * len(kinds)`` seconds (all kinds together: five a second); a
        probe that waits for its timeout delays only its own kind."""
        url, body = self.rc["OS_AUTH_URL"].rstrip("/") + "/v3/auth/tokens", self._body()
        period = INTERVAL * len(self.kinds)
        while not self._stop.is_set():
            began = time.monotonic()
            ok, why = self._issue(url, body) if kind == IDENTITY or not self._token else self._get(kind)
            with self._lock:
                self.samples.append((began, ok, kind))
                if not ok:
                    self.errors.append((began, kind, why))
            self._stop.wait(max(0.0, period - (time.monotonic() - began)))

    def start(self) -> OutageProbe:
        for i, kind in enumerate(self.kinds):
            if i:  # the kinds' probes spread over the period, not all at once
                self._stop.wait(INTERVAL)
            thread = threading.Thread(
                target=self._run, args=(kind,), name=f"outage-probe-{kind}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def mark(self) -> float:
        """Now, to pass to :meth:`outage_since` after the event."""
        return time.monotonic()

    def outage_since(self, mark: float) -> tuple[float, int, int]:
        """(longest outage of any kind in seconds, probes, failed probes) since ``mark``."""
        window = [s for s in list(self.samples) if s[0] >= mark]
        failed = sum(1 for s in window if not s[1])
        return max(self.outages_since(mark).values(), default=0.0), len(window), failed

    def outages_since(self, mark: float) -> dict[str, float]:
        """The longest outage of each kind since ``mark``, in seconds."""
        window = [s for s in list(self.samples) if s[0] >= mark]
        return {kind: longest_outage([(at, ok) for at, ok, k in window if k == kind]) for kind in self.kinds}

    def windows_since(self, mark: float, kind: str) -> list[tuple[float, float, int]]:
        """Each window of consecutive failed probes of ``kind`` since ``mark``: (start, end, failed probes),
        start and end in seconds after ``mark``."""
        window = [(at, ok) for at, ok, k in list(self.samples) if at >= mark and k == kind]
        return [(start - mark, end - mark, n) for start, end, n in failure_windows(window)]

    def reasons_since(self, mark: float, kind: str) -> dict[str, int]:
        """How often each reason made a probe of ``kind`` fail since ``mark``."""
        return dict(Counter(why for at, k, why in list(self.errors) if at >= mark and k == kind))

    def answering(self, since: float) -> bool:
        """The last probe of every kind after ``since`` succeeded."""
        window = [s for s in list(self.samples) if s[0] >= since]
        last = {kind: ok for _, ok, kind in window}
        return bool(window) and set(last) == set(self.kinds) and all(last.values())

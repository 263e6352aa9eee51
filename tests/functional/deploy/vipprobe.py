"""A client of the public VIP that keeps one connection across idle gaps (issue 22, item 8).

An operator's client (keystoneauth, openstacksdk) reuses its connection to an endpoint as long as it lives.
Keystone's and Nova's uwsgi remove Content-Length, so every response with a body closes the connection; those
without one (a 204, an answer to HEAD) keep it. The probe therefore reuses a connection after HEADs and
DELETEs: after each idle gap it validates a token by HEAD on the connection kept from before the gap, and in
between it repeats the pattern `openstack server delete` met (a DELETE answered 204, then at once the next
request on that connection). It runs in a thread beside the tests that change nothing on the controller.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import requests

GAPS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
BURST = 10  # DELETE-then-HEAD rounds after each gap


def _opened(session: requests.Session, url: str) -> int:
    """The connections the session's pools have opened so far."""
    pools = session.get_adapter(url).poolmanager.pools
    return sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118 (no __iter__)


@dataclass
class ReuseProbe:
    """Runs :data:`GAPS` against Keystone's public endpoint ``auth_url`` (…/v3) in a thread."""

    auth_url: str  # overcloudrc's OS_AUTH_URL (the endpoint, without /v3)
    user: str
    password: str = field(repr=False)
    project: str = ""
    failures: list[str] = field(default_factory=list)
    not_reused: list[float] = field(default_factory=list)
    requests: int = 0
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Keystone's v3 API."""
        return self.auth_url.rstrip("/").removesuffix("/v3") + "/v3"

    def _token(self, session: requests.Session) -> str:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": self.user, "domain": {"name": "Default"}, "password": self.password}
                    },
                },
                "scope": {"project": {"name": self.project, "domain": {"name": "Default"}}},
            }
        }
        answer = self._send(session, "POST", body=body)
        if answer is None or answer.status_code != 201:
            raise AssertionError(f"no token: {answer.status_code if answer is not None else 'no answer'}")
        return str(answer.headers["X-Subject-Token"])

    def _send(
        self,
        session: requests.Session,
        method: str,
        headers: dict[str, str] | None = None,
        body: object = None,
    ) -> requests.Response | None:
        self.requests += 1
        try:
            answer = session.request(
                method, f"{self.url}/auth/tokens", headers=headers, json=body, timeout=30
            )
        except requests.ConnectionError as exc:
            self.failures.append(f"{method}: {exc}")
            return None
        if answer.status_code >= 500:
            self.failures.append(f"{method}: {answer.status_code}")
        return answer

    def _run(self) -> None:
        session = requests.Session()
        try:
            self._gaps(session)
        except Exception as exc:  # the test reads it: an exception would end with the thread
            self.failures.append(f"the probe stopped: {type(exc).__name__}: {exc}")
        finally:
            session.close()

    def _gaps(self, session: requests.Session) -> None:
        mine = self._token(session)
        check = {"X-Auth-Token": mine, "X-Subject-Token": mine}
        for gap in GAPS:
            for _ in range(BURST):
                other = self._token(session)
                self._expect(
                    self._send(session, "DELETE", {"X-Auth-Token": mine, "X-Subject-Token": other}), 204
                )
                self._expect(self._send(session, "HEAD", check), 200)
            opened = _opened(session, self.url)
            time.sleep(gap)
            self._expect(self._send(session, "HEAD", check), 200)
            if _opened(session, self.url) != opened:
                self.not_reused.append(gap)

    def _expect(self, answer: requests.Response | None, status: int) -> None:
        if answer is not None and answer.status_code != status:
            self.failures.append(f"{answer.request.method}: {answer.status_code}, not {status}")

    def start(self) -> ReuseProbe:
        self._thread = threading.Thread(target=self._run, name="vip-reuse-probe", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float) -> bool:
        """Whether the probe finished within ``timeout`` seconds."""
        assert self._thread is not None
        self._thread.join(timeout)
        return not self._thread.is_alive()

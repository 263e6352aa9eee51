"""tripleo's deploy key: made once, even when many servers ask for it at the same moment."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tripleo.resources.provisioned import ssh_key

pytestmark = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None, reason="needs ssh-keygen (openssh-client)"
)


def test_concurrent_callers_get_one_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: ssh_key(), range(8)))
    assert len({public for _, public in results}) == 1
    key = results[0][0]
    assert key == tmp_path / "ssh" / "id_ed25519"
    assert key.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in key.parent.iterdir()) == ["id_ed25519", "id_ed25519.pub"]
    assert results[0][1].startswith("ssh-ed25519 ") and results[0][1].endswith(" tripleo")
    assert ssh_key() == results[0]  # a later call reuses it

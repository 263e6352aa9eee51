"""Deploy phase 5: the overcloud's Keystone catalog and ``$TRIPLEO_HOME/overcloudrc``.

The catalog holds every deployed service's ``keystone_resources`` (:mod:`tripleo.config.catalog` registers
them from the deploying host); the admin's credentials come from the service whose role_data carries
them, and are written 0600, as tripleoclient writes ``overcloudrc``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tripleo.config import Host
from tripleo.config.catalog import Admin, ensure_catalog
from tripleo.config.roledata import RoleData
from tripleo.storage import stack_paths, write_private_text
from tripleo.workflows.request import Progress

__all__ = ["catalog_digest", "overcloud_admin", "register_catalog", "write_overcloudrc"]


def overcloud_admin(roles: Mapping[str, RoleData]) -> Admin | None:
    """The overcloud admin, from the first service whose role_data has an ``auth_url`` and a password;
    None when no service carries one (no catalog, no overcloudrc)."""
    for role in roles.values():
        for svc in role.services:
            if svc.admin.get("auth_url") and svc.admin.get("password"):
                return Admin(str(svc.admin["auth_url"]), str(svc.admin["password"]),
                             str(svc.admin.get("region") or "regionOne"))  # fmt: skip
    return None


def register_catalog(
    roles: Mapping[str, RoleData], hosts: Sequence[Host], progress: Progress
) -> dict[str, Any]:
    """The catalog of every deployed service, from the deploying host; endpoints as the catalog has them.

    :raises OperationError: Keystone does not answer, or refuses the admin.
    """
    deployed = {name for h in hosts for name in h.services}
    resources: dict[str, Any] = {}
    for role in roles.values():
        for svc in role.services:
            if svc.name in deployed:
                resources.update(svc.keystone_resources)
    admin = overcloud_admin(roles)
    if admin is None or not resources:
        return {}
    report = ensure_catalog(admin, resources, progress=progress)
    progress(
        f"catalog: {len(report.created)} created, {len(report.updated)} updated in {report.seconds:.1f} s"
    )
    return {name: dict(spec.get("endpoints") or {}) for name, spec in sorted(resources.items())}


def catalog_digest(roles: Mapping[str, RoleData], hosts: Sequence[Host]) -> str:
    """A digest of what the catalog is made from (the deployed services' keystone_resources and admin): a
    re-deploy whose digest is the record's, and that ran nothing, leaves the catalog as it is."""
    deployed = sorted({name for h in hosts for name in h.services})
    wanted = [(s.name, s.keystone_resources, s.admin) for r in roles.values() for s in r.services
              if s.name in deployed]  # fmt: skip
    return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()


def write_overcloudrc(admin: Admin, stack: str) -> Path:
    """``$TRIPLEO_HOME/overcloudrc`` (0600), as tripleoclient writes ``overcloudrc``."""
    path = stack_paths(stack).overcloudrc
    lines = [
        f"# {stack}: the overcloud admin's credentials (written by tripleo overcloud deploy)",
        f"export OS_AUTH_URL={admin.auth_url}",
        "export OS_IDENTITY_API_VERSION=3",
        "export OS_AUTH_TYPE=password",
        f"export OS_USERNAME={admin.username}",
        f"export OS_PROJECT_NAME={admin.project}",
        "export OS_USER_DOMAIN_NAME=Default",
        "export OS_PROJECT_DOMAIN_NAME=Default",
        f"export OS_PASSWORD='{admin.password}'",
        f"export OS_REGION_NAME={admin.region}",
        "export OS_INTERFACE=public",
        f"export OS_CLOUDNAME={stack}",
    ]
    write_private_text(path, "\n".join(lines) + "\n")
    return path

"""What the overcloud's own APIs keep of a host that left the stack, removed once it has gone.

A service's role_data ``scale_down`` lists what its hosts leave behind in the overcloud (TripleO's
scale_tasks), as kinds this module knows:

* ``{compute_service: <binary>}``: the host's Nova service of that binary; Nova deletes the compute node
  and its resource provider in Placement with it (a provider Nova left behind is deleted here too);
* ``{network_agents: true}``: every Neutron agent of the host.

``forget_hosts`` runs from the deploying host as the admin, after the departed servers are gone (their
node powered off, so nothing registers again) and once Keystone answers. It is idempotent: what is already
gone is skipped, so a killed deploy's run again finishes the work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tripleo.config.catalog import Admin, connect
from tripleo.errors import OperationError

__all__ = ["forget_hosts"]


def _compute(conn: Any, host: str, binary: str) -> list[str]:
    done = []
    for svc in list(conn.compute.services(binary=binary, host=host)):
        conn.compute.delete_service(svc)
        done.append(f"{binary} service of {host}")
    for provider in list(conn.placement.resource_providers(name=host)):
        conn.placement.delete_resource_provider(provider)  # Nova deletes it with the service; not always
        done.append(f"resource provider {host}")
    return done


def _agents(conn: Any, host: str) -> list[str]:
    done = []
    for agent in list(conn.network.agents(host=host)):
        conn.network.delete_agent(agent)
        done.append(f"{agent.agent_type} of {host}")
    return done


def forget_hosts(
    admin: Admin,
    departed: Mapping[str, Sequence[Mapping[str, Any]]],
    progress: Callable[[str], None] = lambda _: None,
    timeout: float = 120.0,
) -> list[str]:
    """Remove what each departed host (name -> its services' scale_down entries) left behind; what was
    removed.

    :raises OperationError: an API refused a request.
    """
    from openstack import exceptions as sdk_exc

    if not any(departed.values()):
        return []
    conn = connect(admin, timeout)
    removed: list[str] = []
    try:
        for host, entries in sorted(departed.items()):
            for entry in entries:
                if entry.get("compute_service"):
                    removed += _compute(conn, host, str(entry["compute_service"]))
                if entry.get("network_agents"):
                    removed += _agents(conn, host)
    except sdk_exc.SDKException as exc:
        raise OperationError(f"removing what departed hosts left in the overcloud failed: {exc}") from exc
    finally:
        conn.close()
    for line in removed:
        progress(f"scale down: removed {line}")
    return removed

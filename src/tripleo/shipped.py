"""What the checkout ships beside the code, and the one network name tripleo knows by itself.

``TEMPLATES`` is the project's template tree (roles_data.yaml, network_data.yaml, the services): what a
deploy, the network model and the default lab read when the operator names no other. ``CTLPLANE`` is the
provisioning network every node has on its first NIC, as TripleO names it; every other network, role and
service name comes from the templates. ``FLOATING`` and ``IP_PROTOCOL`` are the two words the undercloud and
the node agent share in the files it applies: the NIC config document's addresses another daemon moves (VIPs),
and the firewall rules' protocol whose "ports" are whole IP protocols (vrrp). ``AGENT_ON_NODE``,
``BOOT_FILE``, ``BOOT_CHECK_ON_NODE``, ``NETWORK_CONFIG_ON_NODE`` and ``FIREWALL_ON_NODE`` are where a node
keeps the agent, the list of services it starts at power-on (and the same list as a shell check that names the
dead ones), its NIC config and its firewall rules.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AGENT_ON_NODE", "BOOT_CHECK_ON_NODE", "BOOT_FILE", "CTLPLANE", "FIREWALL_ON_NODE", "FLOATING",
    "IP_PROTOCOL", "NETWORK_CONFIG_ON_NODE", "TEMPLATES",
]  # fmt: skip

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
CTLPLANE = "ctlplane"
FLOATING = "floating_addresses"
IP_PROTOCOL = "ip"
AGENT_ON_NODE = "/var/lib/tripleo/tripleo-agent.pyz"
BOOT_FILE = "/etc/tripleo/boot-services.json"
BOOT_CHECK_ON_NODE = "/etc/tripleo/boot-check.sh"
NETWORK_CONFIG_ON_NODE = "/etc/tripleo/network_config.json"
FIREWALL_ON_NODE = "/etc/tripleo/firewall.nft"

"""What the checkout ships beside the code, and the one network name tripleo knows by itself.

``TEMPLATES`` is the project's template tree (roles_data.yaml, network_data.yaml, the services): what a
deploy, the network model and the default lab read when the operator names no other. ``CTLPLANE`` is the
provisioning network every node has on its first NIC, as TripleO names it; every other network, role and
service name comes from the templates.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CTLPLANE", "TEMPLATES"]

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
CTLPLANE = "ctlplane"

"""The virtual lab: virtual bare-metal nodes, network segments and BMCs on one host (DESIGN.md section 7).

Every lab network is a Linux bridge ``tl-<network>``; a node is a network namespace ``tl-<node>`` with one
veth per network it joins (fixed MACs), whose processes run in their own mount, UTS and PID namespaces with
the node's disk (overlays kept under ``$TRIPLEO_HOME/lab``) over the host's OS. Each node has an IPMI BMC on
127.0.0.1, served by one lab daemon; power on boots the node (its init applies the config drive and starts
sshd on the ctlplane address), power off ends every process of it. A node of kind ``machine`` (``lab up
--machines``) is a QEMU machine with its own Debian instead, its QEMU a process of its namespace
(:mod:`tripleo.lab.machine`).

Public API::

    lab = Lab()                                   # $TRIPLEO_HOME/lab
    lab.up(default_config(3))                     # or load_config(Path("lab.yaml")); returns instackenv.json
    lab.write_config_drive("node-0", ConfigDrive("node-0", (key,), "192.168.24.10/24"))
    lab.wipe_disk("node-0")                       # provisioning primitives: the node must be off
    lab.status(); lab.down()
"""

from tripleo.lab.config import LabConfig, NetworkSpec, NodeSpec, default_config, load_config, parse_config
from tripleo.lab.drive import ConfigDrive, Route
from tripleo.lab.lab import Lab, NodeStatus, TeardownReport, lab_namespaces
from tripleo.lab.paths import tripleo_home

__all__ = [
    "ConfigDrive",
    "Lab",
    "LabConfig",
    "NetworkSpec",
    "NodeSpec",
    "NodeStatus",
    "Route",
    "TeardownReport",
    "default_config",
    "lab_namespaces",
    "load_config",
    "parse_config",
    "tripleo_home",
]

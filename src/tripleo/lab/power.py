"""Power for a lab node: on starts the node's init in its namespaces, off ends every process of the node
and takes its network down (a machine without power answers nothing, on no address it held).

A node is on exactly when its network namespace holds a process, so the answer survives a restart of the
lab daemon and needs no bookkeeping.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

from tripleo.errors import OperationError
from tripleo.lab.config import NodeSpec
from tripleo.lab.cpushare import group_argv, node_group
from tripleo.lab.network import links_off
from tripleo.lab.paths import NodePaths
from tripleo.lab.system import Runner, kill_netns_processes, netns_pids, pid_ns_init

__all__ = ["INIT_UP", "NODE_ENV", "NodePower", "node_argv"]

LOG = logging.getLogger(__name__)

# A node starts with a clean environment: nothing of the operator's (TRIPLEO_HOME, SSH agent, ...) leaks in.
NODE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}


def node_argv(node: NodeSpec, paths: NodePaths, python: str = sys.executable) -> list[str]:
    """The command that boots ``node``: its init as PID 1 of new mount, UTS, PID namespaces in its netns."""
    unshare = ["unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc"]
    return [
        "ip",
        "netns",
        "exec",
        node.netns,
        *unshare,
        python,
        "-m",
        "tripleo.lab.nodeinit",
        str(paths.root),
    ]


POWER_ON_LINE = "tl-lab: power on"
INIT_UP = "tl-init: up"  # what a node's init prints once it booted (tripleo.lab.nodeinit, a machine's tl-up)


class NodePower:
    """Power and boot device of one node (the :class:`~tripleo.lab.bmc.PowerControl` the BMC drives)."""

    def __init__(
        self,
        node: NodeSpec,
        paths: NodePaths,
        runner: Runner,
    ) -> None:
        self.node = node
        self.paths = paths
        self.runner = runner
        self._proc: subprocess.Popen[bytes] | None = None

    def is_on(self) -> bool:
        self.reap()
        return self._proc is not None or bool(netns_pids(self.runner, self.node.netns))

    def power_on(self) -> None:
        """Boot the node (nothing happens if it is on). Its console output goes to its console log."""
        if self.is_on():
            return
        LOG.info("%s: power on", self.node.name)
        self.paths.root.mkdir(parents=True, exist_ok=True)
        with open(self.paths.console_log, "ab") as console:
            console.write(POWER_ON_LINE.encode() + b"\n")  # marks where this boot's output starts
            console.flush()
            self._proc = subprocess.Popen(
                # the node's processes share the CPU as one machine (tripleo.lab.cpushare)
                group_argv(node_group(self.node.netns), node_argv(self.node, self.paths)),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                env=NODE_ENV,
                start_new_session=True,
            )
        self._wait_in_netns()

    def _wait_in_netns(self, timeout: float = 5.0) -> None:
        """Return once the node's first process is in its network namespace (the shell that joins the CPU
        group runs a moment before it): a status asked right after power on sees the node on."""
        deadline = time.monotonic() + timeout
        while self._proc is not None and self._proc.poll() is None and time.monotonic() < deadline:
            if netns_pids(self.runner, self.node.netns):
                return
            time.sleep(0.01)

    def power_off(self, *, graceful: bool = False) -> None:
        """Halt the node.

        :param graceful: only ask: SIGTERM to the node's init, which stops its processes, takes its links
            down and exits (a soft power off, like an ACPI power button). Otherwise SIGKILL every process of
            the node and take its links down, now.
        :raises OperationError: processes of the node survive SIGKILL.
        """
        LOG.info("%s: power off%s", self.node.name, " (soft)" if graceful else "")
        if graceful:
            init = pid_ns_init(netns_pids(self.runner, self.node.netns))
            if init is not None:
                os.kill(init, signal.SIGTERM)
            return
        kill_netns_processes(self.runner, self.node.netns)
        self.links_off()
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired as exc:
                raise OperationError(f"{self.node.name}: its boot process does not exit") from exc
            self._proc = None

    def links_off(self) -> None:
        """The node's NICs down without addresses, the links it made gone (:func:`~.network.links_off`)."""
        nics = [self.node.nic_name(i) for i in range(len(self.node.networks))]
        links_off(self.runner, self.node.netns, nics)

    def reap(self) -> None:
        """Collect the boot process once the node stopped on its own (a soft power off, a crash of its
        init), so no zombie stays behind, and take its links down as for any power off."""
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None
            self.links_off()

    def get_boot_device(self) -> str:
        try:
            device = json.loads(self.paths.bmc_state.read_text()).get("boot_device", "default")
        except (OSError, ValueError):
            return "default"
        return str(device)

    def set_boot_device(self, device: str) -> None:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        self.paths.bmc_state.write_text(json.dumps({"boot_device": device}) + "\n")

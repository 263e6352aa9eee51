"""The lab daemon: one process serving every node's BMC on 127.0.0.1 (``python -m tripleo.lab.daemon DIR``).

``lab up`` starts it in the background; it writes its pid file once all BMC ports are bound, logs to
``daemon.log`` next to it, and exits cleanly on SIGTERM (nodes keep running, as servers do when their BMC
restarts). Passwords come from the lab's state file (0600) and never reach the log.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

import pyghmi.ipmi.private.session as pyghmi_session  # type: ignore[import-untyped]

from tripleo.lab.bmc import LabBmc
from tripleo.lab.config import MACHINE, parse_config
from tripleo.lab.machine import MachineImage, MachinePower, image_cache, image_digest
from tripleo.lab.paths import LabPaths
from tripleo.lab.power import NodePower
from tripleo.lab.system import SubprocessRunner

LOG = logging.getLogger("tripleo.lab.daemon")


class _Stop:
    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, signum: int, frame: object) -> None:
        self.requested = True


def serve(lab_dir: Path) -> int:
    """Bind every node's BMC, announce readiness through the pid file, answer IPMI until SIGTERM."""
    paths = LabPaths(lab_dir)
    state = json.loads(paths.state.read_text())
    config = parse_config(state["config"], file=str(paths.state))
    runner = SubprocessRunner()
    stop = _Stop()
    powers: list[NodePower] = []
    for node in config.nodes:
        if node.kind == MACHINE:
            taps = [config.veth(node, nic) for nic in range(len(node.networks))]
            image = MachineImage(image_cache(lab_dir) / image_digest())
            power: NodePower = MachinePower(node, paths.node(node.name), runner, image, taps)
        else:
            power = NodePower(node, paths.node(node.name), runner)
        port = config.bmc_port(node)
        LabBmc(power, {config.bmc_user: state["bmc_password"]}, port=port, bmc_uuid=node.system_uuid)
        LOG.info("%s: IPMI BMC on 127.0.0.1:%d", node.name, port)
        powers.append(power)
    tmp = paths.pidfile.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    tmp.replace(paths.pidfile)  # atomically: its existence tells `lab up` the BMCs are listening
    LOG.info("ready: %d BMCs", len(powers))
    while not stop.requested:
        pyghmi_session.Session.wait_for_rsp(timeout=0.5)
        for power in powers:
            power.reap()
    LOG.info("stopping")
    if paths.pidfile.exists() and paths.pidfile.read_text().strip() == str(os.getpid()):
        paths.pidfile.unlink()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python -m tripleo.lab.daemon LAB_DIR [LAB_NAME]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return serve(Path(argv[1]))
    except Exception:
        LOG.exception("lab daemon failed")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Config download: a deployed stack as an Ansible project an operator can also run by hand.

Layout of ``$TRIPLEO_HOME/config-download/<stack>/``::

    ansible.cfg                      pipelining, no host key prompts, the inventory below
    inventory.yaml                   roles as groups (all under ``overcloud``); ansible_host is the ctlplane
                                     address; every network address as ``<network>_ip`` host vars
    deploy_steps_playbook.yaml       the node's missing Debian packages (installed through the undercloud's
                                     package cache: :func:`packages_script`), the node agent, NIC config +
                                     firewall (applied), hieradata, then the
                                     deploy steps 1..5: ``puppet apply`` of the host's manifest on every
                                     node, each step on all nodes before the next; each unit (network,
                                     step N) runs only where the run plan says, and records its digest on
                                     the node when it succeeded (:mod:`tripleo.config.digests`)
    host_vars/<host>.yaml            the run plan (``write_run_plan``): units to run, their digests
    puppet/modules/                  the project's Puppet modules (copied to /etc/puppet/modules); the
                                     modules their metadata.json depends on are the node's own (Debian's
                                     puppet-module-* under /usr/share/puppet/modules), linked into
                                     /etc/puppet/vendor so the module path holds only what is used
    files/tripleo-agent.pyz          the node agent (see :mod:`tripleo.config.agent`)
    files/puppet-modules.tar         the modules as one archive (unpacked on a node only when it changed)
    hosts/<host>/network_config.json the host's NIC config (nicN resolved where its NICs are known)
    hosts/<host>/firewall.nft        its nftables rules
    hosts/<host>/boot-check.sh       its boot services' status commands, naming the dead ones (config plan)
    hosts/<host>/boot-services.json  the init scripts it starts by itself at power-on (:mod:`.boot`)
    hosts/<host>/hieradata/<n>.json  its hieradata files (0600: they hold service passwords)
    hosts/<host>/manifest.pp         the step_config of its services (role_data)
    hosts/<host>/containers/step<N>.json  its containerized services' step N: config volumes (step 1),
                                     kolla configs, containers; the step runs them after its Puppet with
                                     the node agent's ``containers`` command (:mod:`.containers_apply`)

The project is written whole into a scratch directory and renamed into place, so a crash never leaves half a
project, and writing it again with the same inputs gives the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tripleo.config.agent import AGENT_NAME, build_agent
from tripleo.config.boot import check_script
from tripleo.config.digests import APPLIED_DIR, NETWORK, PACKAGES, HostPlan, step_unit, units
from tripleo.shipped import (
    AGENT_ON_NODE,
    BOOT_CHECK_ON_NODE,
    BOOT_FILE,
    FIREWALL_ON_NODE,
    FLOATING,
    NETWORK_CONFIG_ON_NODE,
)

__all__ = [
    "MODULES_TAR",
    "PLAYBOOK",
    "STEPS",
    "Host",
    "Project",
    "late_tags",
    "packages_script",
    "swap_into_place",
    "vendor_modules",
    "write_project",
    "write_run_plan",
]

PLAYBOOK = "deploy_steps_playbook.yaml"
BOOT_NAME = Path(BOOT_FILE).name
BOOT_CHECK_NAME = Path(BOOT_CHECK_ON_NODE).name
BOOT_UNIT = "tripleo-boot.service"
# A node whose init is systemd (a real or QEMU machine; a lab namespace node has its own init, which runs the
# same command) runs the agent's ``boot start`` at every power-on: the NIC config and firewall again (they
# are not kept across a reboot), then any boot service that did not start by itself (one that came up before
# its network address did).
_BOOT_UNIT_TEXT = f"""[Unit]
Description=tripleo: the NIC config, the firewall and the boot services at power-on
After=network.target ssh.service
ConditionPathExists={BOOT_FILE}
ConditionPathExists={AGENT_ON_NODE}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/python3 {AGENT_ON_NODE} boot start

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class Host:
    """One deployed server as config download sees it."""

    name: str
    role: str
    node: str
    ctlplane: str
    addresses: Mapping[str, str] = field(default_factory=dict)  # network name -> address/prefix
    hieradata: Mapping[str, Any] = field(default_factory=dict)  # datafile name -> data
    network_config: Any = None
    floating_addresses: tuple[str, ...] = ()  # addresses a service moves (VIPs): the NIC config leaves them
    boot: tuple[Mapping[str, str], ...] = ()  # {name, status, service}: started at power-on (config.boot)
    probes: tuple[Mapping[str, str], ...] = ()  # {name, command}: status's cluster view asks them
    recovery: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # service -> cluster_recovery
    firewall: str = ""
    manifest: str = ""  # Puppet applied in every deploy step
    services: tuple[str, ...] = ()  # the services that run on it (role_data service_name)
    containers: Mapping[int, Any] = field(default_factory=dict)  # step -> its container step file
    packages: tuple[str, ...] = ()  # the Debian packages its services need (role_data packages)


def network_document(host: Host) -> dict[str, Any]:
    """What the node's network applier reads: the NIC config, and the addresses it must leave alone."""
    document: dict[str, Any] = {"network_config": host.network_config}
    if host.floating_addresses:
        document[FLOATING] = list(host.floating_addresses)
    return document


@dataclass(frozen=True)
class Project:
    directory: Path
    inventory: Path
    playbook: Path


_ANSIBLE_CFG = """\
[defaults]
inventory = inventory.yaml
host_key_checking = False
retry_files_enabled = False
gathering = explicit
forks = 16
interpreter_python = {python}
timeout = 20

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null \
-o StrictHostKeyChecking=no -o BatchMode=yes -o LogLevel=ERROR
"""


def _var(network: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(network))


def _host_vars(host: Host) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ansible_host": host.ctlplane,
        "tripleo_role": host.role,
        "tripleo_node": host.node,
        "tripleo_hieradata_files": sorted(host.hieradata),
        # the run plan (host_vars/<host>.yaml, written by write_run_plan) overrides these: every unit runs
        "tripleo_run": units(STEPS),
        "tripleo_puppet": True,
        "tripleo_digests": {},
        "tripleo_container_files": [_container_file(step) for step in sorted(host.containers)],
        "tripleo_packages": list(host.packages),
    }
    for network, address in sorted(host.addresses.items()):
        out[f"{_var(network)}_ip"] = address.split("/")[0]
    out["tripleo_addresses"] = dict(sorted(host.addresses.items()))
    return out


def _inventory(stack: str, hosts: Sequence[Host], ssh_key: Path, vips: Mapping[str, str],
               proxy: str) -> dict[str, Any]:  # fmt: skip
    roles: dict[str, dict[str, Any]] = {}
    for host in hosts:
        roles.setdefault(host.role, {"hosts": {}})["hosts"][host.name] = _host_vars(host)
    return {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(ssh_key),
                "tripleo_stack": stack,
                "tripleo_vips": dict(sorted(vips.items())),
                "tripleo_package_proxy": proxy,
            },
            "children": {"overcloud": {"children": {role: {} for role in sorted(roles)}}, **roles},
        }
    }


STEPS = 5
# the Keystone catalog (service users, endpoints) is made once this step has run everywhere, as TripleO's
# keystone_resources are at step 3: services of later steps authenticate as their users when they start
CATALOG_AFTER_STEP = 3
_VENDOR = "/etc/puppet/vendor"
_MANIFEST = "/etc/puppet/manifests/tripleo.pp"
_SYSTEM_MODULES = "/usr/share/puppet/modules"
MODULES_TAR = "puppet-modules.tar"
_MODULES_TAR_ON_NODE = f"/var/lib/tripleo/{MODULES_TAR}"
_MODULES = "/etc/puppet/modules"
# the archive is unpacked only when it differs from the one last unpacked (a copy kept beside it)
_UNPACK = (
    f"cmp -s {_MODULES_TAR_ON_NODE} {_MODULES_TAR_ON_NODE}.unpacked && [ -d {_MODULES} ] || "
    f"{{ rm -rf {_MODULES}.new && mkdir -p {_MODULES}.new "
    f"&& tar -xf {_MODULES_TAR_ON_NODE} -C {_MODULES}.new "
    f"&& rm -rf {_MODULES} && mv {_MODULES}.new {_MODULES} "
    f"&& cp {_MODULES_TAR_ON_NODE} {_MODULES_TAR_ON_NODE}.unpacked && echo unpacked; }}"
)
_STEP_LOCK = "/run/tripleo-steps.lock"
DEFAULT_TIMEOUT = 1800.0  # seconds a task (a deploy step, on all its hosts) may run
STEP_TIMEOUT_VARIABLE = "tripleo_step_timeout"  # the seconds a step's processes may run on a node
NODE_GRACE = 10  # seconds past the task's timeout before a node ends the step's processes itself
_PUPPET = (
    "puppet apply --detailed-exitcodes --color=false --logdest console "
    f"--modulepath /etc/puppet/modules:{_VENDOR} --hiera_config /etc/puppet/hiera.yaml {_MANIFEST}"
)


_CONTAINERS_ON_NODE = "/var/lib/tripleo/containers"


def _container_file(step: int) -> str:
    return f"step{step}.json"


def _containers(step: int) -> str:
    """The shell that runs step ``step``'s containers after its Puppet succeeded (rc 2 when they changed)."""
    path = f"{_CONTAINERS_ON_NODE}/{_container_file(step)}"
    return (
        f"if [ -f {path} ]; then out=$(python3 {AGENT_ON_NODE} containers {path} --step {step}) || rc=6; "
        f'echo "$out"; case "$out" in *\'"changed": true\'*) [ $rc -eq 0 ] && rc=2;; esac; fi'
    )


def _runs(unit: str) -> str:
    """The condition of a unit's tasks: the run plan has it for this host."""
    return f"'{unit}' in tripleo_run"


def _record(unit: str) -> str:
    """The shell that records a unit's digest on the node (atomically), run once the unit succeeded."""
    target = f"{APPLIED_DIR}/{unit}"
    digest = f"{{{{ tripleo_digests.{unit} | default('') }}}}"
    return f"mkdir -p {APPLIED_DIR} && printf %s {digest} > {target}.new && mv {target}.new {target}"


def _node_timeout() -> str:
    """``timeout``, as the step's prefix on the node: Puppet ends (TERM, then KILL 5 s later) once the run's
    step timeout and a grace have passed (:mod:`tripleo.config.runner`), and with it the step and its hold
    on the node's step lock. A command Puppet started in a session of its own (an ``exec``) ends by itself."""
    default = int(DEFAULT_TIMEOUT) + NODE_GRACE
    return f"timeout -k 5 {{{{ {STEP_TIMEOUT_VARIABLE} | default({default}) | int }}}}"


def _step_task(step: int) -> dict[str, Any]:
    unit = step_unit(step)
    # --detailed-exitcodes: 0 nothing changed, 2 changes applied, 4/6 failures; the step's digest is recorded
    # on the node only once it succeeded
    record = _record(unit)
    return {
        "name": f"Step {step}: puppet apply",
        # one step at a time on a node: a step left running by a killed deploy ends before the next starts
        "ansible.builtin.shell": f"exec 9>{_STEP_LOCK}; flock 9; {_node_timeout()} {_PUPPET}; rc=$?; "
        f"if [ $rc -eq 0 ] || [ $rc -eq 2 ]; then {_containers(step)}; fi; "
        f"if [ $rc -eq 0 ] || [ $rc -eq 2 ]; then {record}; fi; exit $rc",
        "environment": {"FACTER_tripleo_step": str(step)},
        "register": f"step{step}",
        "changed_when": f"step{step}.rc == 2",
        "failed_when": f"step{step}.rc not in [0, 2]",
        "when": _runs(unit),
        "tags": [unit],
    }


def late_tags() -> list[str]:
    """The tags of the steps that run after the catalog exists (a second ``ansible-playbook`` run)."""
    return [step_unit(step) for step in range(CATALOG_AFTER_STEP + 1, STEPS + 1)]


def vendor_modules(modules: Path) -> list[str]:
    """The modules that the modules under ``modules`` depend on (metadata.json) and do not ship: their
    directory names (``openstack-keystone`` and ``openstack/keystone`` are ``keystone``)."""
    own = {p.name for p in modules.iterdir() if p.is_dir()}
    needed: set[str] = set()
    for meta in sorted(modules.glob("*/metadata.json")):
        for dep in json.loads(meta.read_text()).get("dependencies") or []:
            name = str(dep.get("name") or "").replace("/", "-").split("-")[-1]
            if name and name not in own:
                needed.add(name)
    return sorted(needed)


def _links(vendor: Sequence[str]) -> str:
    """One shell command linking the node's own modules into the vendor directory (says "linked" on a
    change)."""
    names = " ".join(vendor)
    return (
        f"mkdir -p {_VENDOR} && for m in {names}; do "
        f'[ "$(readlink {_VENDOR}/$m)" = "{_SYSTEM_MODULES}/$m" ] || '
        f"{{ ln -sfn {_SYSTEM_MODULES}/$m {_VENDOR}/$m && echo linked $m; }}; done; true"
    )


def _steps_play(vendor: list[str]) -> dict[str, Any]:
    return {
        "name": "Deploy steps",
        "hosts": "overcloud",
        "gather_facts": False,
        "any_errors_fatal": True,
        "tasks": [
            {
                "name": "Puppet modules archive",
                "ansible.builtin.copy": {
                    "src": f"files/{MODULES_TAR}",
                    "dest": _MODULES_TAR_ON_NODE,
                    "mode": "0644",
                },
                "when": "tripleo_puppet",
            },
            {
                "name": "Puppet modules",
                "ansible.builtin.shell": _UNPACK,
                "register": "unpacked",
                "changed_when": "'unpacked' in unpacked.stdout",
                "when": "tripleo_puppet",
            },
            {
                "name": "Puppet module path: the node's own modules that ours depend on",
                "ansible.builtin.shell": _links(vendor),
                "register": "linked",
                "changed_when": "'linked' in linked.stdout",
                "when": "tripleo_puppet",
            },
            {
                "name": "Container step files: none but this deploy's",
                "ansible.builtin.shell": f"mkdir -p {_CONTAINERS_ON_NODE} && cd {_CONTAINERS_ON_NODE} && "
                "for f in step*.json; do case ' {{ tripleo_container_files | join(' ') }} ' in "
                '*" $f "*) ;; *) [ -f "$f" ] && rm -f "$f" && echo removed;; esac; done; true',
                "register": "stale",
                "changed_when": "'removed' in stale.stdout",
                "when": "tripleo_puppet",
            },
            {
                "name": "Container step files",
                "ansible.builtin.copy": {
                    "src": f"{_HOST_DIR}/containers/",
                    "dest": f"{_CONTAINERS_ON_NODE}/",
                    "mode": "0600",
                },
                "when": "tripleo_puppet and tripleo_container_files | length > 0",
            },
            {
                "name": "The node's manifest",
                "ansible.builtin.copy": {
                    "src": "hosts/{{ inventory_hostname }}/manifest.pp",
                    "dest": _MANIFEST,
                    "mode": "0644",
                },
                "when": "tripleo_puppet",
            },
            *(_step_task(step) for step in range(1, STEPS + 1)),
        ],
    }


_HOST_DIR = "hosts/{{ inventory_hostname }}"
PACKAGES_LOG = "/var/log/tripleo-packages.log"  # apt's output of the last install, on the node
_LOCK_WAIT = 300  # seconds apt waits for another apt (an unattended upgrade) to let go of dpkg's lock


def packages_script(packages: str, proxy: str) -> str:
    """The POSIX shell (the node may have no Python yet) that installs what of ``packages`` (names separated
    by spaces) is not installed, with apt through the HTTP proxy ``proxy`` ("": the node's own apt
    configuration), starting no service as it does (a policy-rc.d: Puppet starts them in their step). It
    prints ``{"changed": false}`` or ``{"changed": true, "installed": "<names>"}``. A node whose /usr is
    read-only (a lab node: it shares the host's) only checks: a missing package fails there, named."""
    return f"""want='{packages}'; proxy='{proxy}'
have=" $(dpkg-query -W -f '${{db:Status-Abbrev}}${{Package}}\\n' 2>/dev/null | sed -n 's/^ii *//p' \
  | tr '\\n' ' ') "
missing=''
for p in $want; do case "$have" in *" $p "*) ;; *) missing="$missing $p";; esac; done
missing=${{missing# }}
if [ -z "$missing" ]; then echo '{{"changed": false}}'; exit 0; fi
if [ ! -w /usr ]; then
  echo "packages missing on a node whose /usr is read-only (a lab node shares the host's, where \
scripts/debian-packages installs them): $missing" >&2; exit 3
fi
set -- -q -o DPkg::Lock::Timeout={_LOCK_WAIT}
[ -z "$proxy" ] || set -- "$@" -o "Acquire::http::Proxy=$proxy"
rcd=/usr/sbin/policy-rc.d; own=''
[ -e $rcd ] || {{ printf '#!/bin/sh\\nexit 101\\n' > $rcd && chmod 0755 $rcd && own=1; }}
export DEBIAN_FRONTEND=noninteractive
{{ apt-get "$@" update && apt-get "$@" install -y --no-install-recommends $missing; }} > {PACKAGES_LOG} 2>&1
status=$?
[ -z "$own" ] || rm -f $rcd
if [ $status -ne 0 ]; then
  echo "apt-get failed ($status) installing $missing:" >&2
  {{ grep -B 15 -m 1 '^dpkg: error processing' {PACKAGES_LOG} || tail -n 5 {PACKAGES_LOG}; }} >&2
  exit $status
fi
printf '{{"changed": true, "installed": "%s"}}\\n' "$missing"
"""


def _packages_play() -> dict[str, Any]:
    script = packages_script("{{ tripleo_packages | join(' ') }}", "{{ tripleo_package_proxy }}")
    return {
        "name": "Packages",
        "hosts": "overcloud",
        "gather_facts": False,
        "any_errors_fatal": True,
        "tasks": [
            {
                "name": "Debian packages of the services",
                # raw: nothing of Python on the node yet
                "ansible.builtin.raw": f"(\n{script}) && {_record(PACKAGES)}",
                "register": "installed",
                "changed_when": "'\"changed\": true' in installed.stdout",
                "when": _runs(PACKAGES),
            },
        ],
    }


def _network_play() -> dict[str, Any]:
    record = _record(NETWORK)
    applier = f"python3 {AGENT_ON_NODE} {NETWORK_CONFIG_ON_NODE} --firewall {FIREWALL_ON_NODE} && {record}"
    host_dir = _HOST_DIR
    return {
        "name": "Network configuration",
        "hosts": "overcloud",
        "gather_facts": False,
        "any_errors_fatal": True,
        "tasks": [
            {
                "name": "Directories",
                "ansible.builtin.command": "install -d -m 0755 /var/lib/tripleo /etc/tripleo "
                "/etc/puppet/hieradata /etc/puppet/manifests",
                "changed_when": False,
            },
            {
                "name": "Node agent",
                "ansible.builtin.copy": {
                    "src": f"files/{AGENT_NAME}",
                    "dest": AGENT_ON_NODE,
                    "mode": "0644",
                },
                "when": _runs(NETWORK),
            },
            {
                "name": "NIC config and firewall rules",
                "ansible.builtin.copy": {
                    "src": f"{host_dir}/{{{{ item }}}}",
                    "dest": "/etc/tripleo/{{ item }}",
                    "mode": "0600",
                },
                "loop": ["network_config.json", "firewall.nft", BOOT_NAME, BOOT_CHECK_NAME],
                "when": _runs(NETWORK),
            },
            {
                "name": "Apply the NIC config and firewall rules",
                "ansible.builtin.shell": applier,
                "register": "applied",
                "changed_when": "(applied.stdout_lines | last | from_json).changed",
                "when": _runs(NETWORK),
            },
            {
                "name": "Boot unit, where systemd is init",
                "ansible.builtin.shell": {"cmd": _boot_unit_script()},
                "register": "boot_unit",
                "changed_when": "boot_unit.stdout == 'enabled'",
                "when": _runs(NETWORK),
            },
        ],
    }


def _boot_unit_script() -> str:
    """Install and enable the boot unit on a systemd host; nothing elsewhere."""
    return (
        f"[ -d /run/systemd/system ] || exit 0\nunit={BOOT_UNIT}; path=/etc/systemd/system/$unit\n"
        f"cat > $path.new <<'EOF'\n{_BOOT_UNIT_TEXT}EOF\n"
        "if cmp -s $path.new $path && systemctl -q is-enabled $unit; then rm $path.new; exit 0; fi\n"
        "mv $path.new $path && systemctl daemon-reload && systemctl -q enable $unit && echo enabled\n"
    )


def _playbook(puppet: bool, vendor: list[str]) -> list[dict[str, Any]]:
    host_dir = _HOST_DIR
    return [
        _packages_play(),
        _network_play(),
        {
            "name": "Hieradata",
            "hosts": "overcloud",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Hieradata files",
                    "ansible.builtin.copy": {
                        "src": f"{host_dir}/hieradata/{{{{ item }}}}.json",
                        "dest": "/etc/puppet/hieradata/{{ item }}.json",
                        "mode": "0600",
                    },
                    "loop": "{{ tripleo_hieradata_files }}",
                    "when": "tripleo_puppet",
                },
                {
                    "name": "Hiera hierarchy",
                    "ansible.builtin.copy": {
                        "dest": "/etc/puppet/hiera.yaml",
                        "mode": "0644",
                        "content": "{{ lookup('template', 'hiera.yaml.j2') }}",
                    },
                    "when": "tripleo_puppet",
                },
            ],
        },
        *([_steps_play(vendor)] if puppet else []),
    ]


_HIERA = """\
---
version: 5
defaults:
  datadir: /etc/puppet/hieradata
  data_hash: json_data
hierarchy:
  - name: tripleo
    paths:
{% for name in tripleo_hieradata_files %}
      - "{{ name }}.json"
{% endfor %}
"""


def _write_json(path: Path, data: Any, mode: int = 0o644) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    path.chmod(mode)


def _fill(directory: Path, stack: str, hosts: Sequence[Host], ssh_key: Path, vips: Mapping[str, str],
          python: str, puppet_modules: Path | None, extra_modules: Sequence[Path],
          proxy: str) -> None:  # fmt: skip
    (directory / "ansible.cfg").write_text(_ANSIBLE_CFG.format(python=python))
    inventory = _inventory(stack, hosts, ssh_key, vips, proxy)
    dump = yaml.safe_dump(inventory, sort_keys=False, default_flow_style=False)
    (directory / "inventory.yaml").write_text(dump)
    modules = directory / "puppet" / "modules"
    if puppet_modules is not None:
        shutil.copytree(puppet_modules, modules)
        for extra in extra_modules:
            shutil.copytree(extra, modules, dirs_exist_ok=True)
    vendor = vendor_modules(modules) if puppet_modules is not None else []
    if puppet_modules is not None:
        _archive(modules, directory / "files" / MODULES_TAR)
    (directory / PLAYBOOK).write_text(
        yaml.safe_dump(_playbook(puppet_modules is not None, vendor), sort_keys=False, width=120)
    )
    (directory / "templates").mkdir()
    (directory / "templates" / "hiera.yaml.j2").write_text(_HIERA)
    build_agent(directory / "files")
    for host in hosts:
        host_dir = directory / "hosts" / host.name
        (host_dir / "hieradata").mkdir(parents=True)
        host_dir.chmod(0o700)
        _write_json(host_dir / "network_config.json", network_document(host))
        _write_json(host_dir / BOOT_NAME, [dict(entry) for entry in host.boot])
        (host_dir / BOOT_CHECK_NAME).write_text(check_script([dict(entry) for entry in host.boot]))
        (host_dir / "firewall.nft").write_text(host.firewall)
        (host_dir / "manifest.pp").write_text(host.manifest)
        if host.containers:
            (host_dir / "containers").mkdir()
            for step, data in sorted(host.containers.items()):
                _write_json(host_dir / "containers" / _container_file(step), data, 0o600)
        for name, data in host.hieradata.items():
            _write_json(host_dir / "hieradata" / f"{name}.json", data, 0o600)


def _archive(modules: Path, target: Path) -> None:
    """The modules as one tar, the same bytes for the same tree (sorted, no times or owners)."""

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
        return info

    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(modules.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(modules)), recursive=False, filter=clean)


def write_run_plan(project: Project, plans: Mapping[str, HostPlan]) -> None:
    """``host_vars/<host>.yaml``: the units each host runs (the others are skipped) and their digests, which
    the node records once a unit succeeded."""
    directory = project.directory / "host_vars"
    directory.mkdir(exist_ok=True)
    for host, hp in plans.items():
        data = {
            "tripleo_run": list(hp.run),
            "tripleo_puppet": any(u not in (NETWORK, PACKAGES) for u in hp.run),
            "tripleo_digests": dict(hp.digests),
        }
        scratch = directory / f".{host}.yaml.new"
        scratch.write_text(yaml.safe_dump(data, sort_keys=True))
        scratch.replace(directory / f"{host}.yaml")


def swap_into_place(scratch: Path, directory: Path) -> None:
    """Replace ``directory`` with the finished ``scratch`` tree: a crash leaves the old tree or the new one
    (or the old one as ``.<name>.old``, removed next time), never half of one."""
    old = directory.with_name(f".{directory.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(scratch, directory)
    shutil.rmtree(old, ignore_errors=True)


def write_project(
    directory: Path,
    stack: str,
    hosts: Sequence[Host],
    *,
    ssh_key: Path,
    vips: Mapping[str, str] | None = None,
    python: str = "/usr/bin/python3",
    puppet_modules: Path | None = None,
    extra_modules: Sequence[Path] = (),
    package_proxy: str = "",
) -> Project:
    """Write the Ansible project for ``hosts`` into ``directory`` (replacing what was there).

    :param extra_modules: more module directories (the environments' ``PuppetModuleDirs``), copied over.
    :param package_proxy: the HTTP proxy through which nodes install packages (the undercloud's package
        cache, ``http://ADDRESS:PORT``); "": their own apt configuration.
    :param puppet_modules: a Puppet module path (with the ``tripleo`` module); without it the project has no
        deploy steps (network and hieradata only).
    """
    directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = directory.with_name(f".{directory.name}.new")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(mode=0o700)
    try:
        _fill(
            scratch, stack, hosts, ssh_key, vips or {}, python, puppet_modules, extra_modules, package_proxy
        )
        swap_into_place(scratch, directory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Project(directory, directory / "inventory.yaml", directory / PLAYBOOK)

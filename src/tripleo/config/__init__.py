"""Configuration of deployed nodes: config download (an Ansible project per stack), its runner and the node
agent the project carries (DESIGN.md sections 2 and 8)::

    project = write_project(directory, "overcloud", hosts, ssh_key=key, vips=vips, puppet_modules=modules)
    recap = run_playbook(project, log_path, progress=print)   # OperationError names the host and task
"""

from tripleo.config.agent import AGENT_NAME, build_agent
from tripleo.config.download import PLAYBOOK, STEPS, Host, Project, write_project
from tripleo.config.runner import HostRecap, ansible_playbook, run_playbook

__all__ = [
    "AGENT_NAME",
    "PLAYBOOK",
    "STEPS",
    "Host",
    "HostRecap",
    "Project",
    "ansible_playbook",
    "build_agent",
    "run_playbook",
    "write_project",
]

"""tripleo: OpenStack On OpenStack, in Python.

A Heat-compatible orchestration engine, Ironic-like bare metal, network isolation and a virtual lab.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]

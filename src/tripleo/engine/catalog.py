"""Native resource types the engine knows by name, and the structural ones it expands itself.

The resource plugins (``tripleo.resources``) implement these types, each declared once in
``tripleo.engine.schemas``; the engine needs their names to resolve the registry, their schemas to check
properties and attributes, and the structural kinds to build nested stacks.
"""

from __future__ import annotations

from tripleo.engine.schemas import HEAT_TYPES_WITHOUT_PLUGIN, SCHEMAS

__all__ = [
    "CHAIN",
    "DEPLOYMENT_GROUPS",
    "GROUP",
    "HEAT_TYPES_WITHOUT_PLUGIN",
    "NATIVE_TYPES",
    "NONE",
    "SCHEMAS",
    "STRUCTURAL",
]

NONE = "OS::Heat::None"
GROUP = "OS::Heat::ResourceGroup"
CHAIN = "OS::Heat::ResourceChain"
# group type -> member type
DEPLOYMENT_GROUPS = {
    "OS::Heat::SoftwareDeploymentGroup": "OS::Heat::SoftwareDeployment",
    "OS::Heat::StructuredDeploymentGroup": "OS::Heat::StructuredDeployment",
    "OS::Heat::SoftwareDeployments": "OS::Heat::SoftwareDeployment",
    "OS::Heat::StructuredDeployments": "OS::Heat::StructuredDeployment",
}
STRUCTURAL = frozenset({GROUP, CHAIN, *DEPLOYMENT_GROUPS})

# What the registry resolves to natively: every type with a schema (and so a plugin), and the structural
# types the engine expands itself.
NATIVE_TYPES: frozenset[str] = frozenset({*SCHEMAS, *STRUCTURAL})

"""Native resource types the engine knows by name, and the structural ones it expands itself.

The resource plugins (``tripleo.resources``) implement these types; the engine only needs their names to
resolve the registry, and the structural kinds to build nested stacks.
"""

from __future__ import annotations

__all__ = [
    "ATTRIBUTES",
    "CHAIN",
    "DEPLOYMENT_GROUPS",
    "GROUP",
    "NATIVE_TYPES",
    "NONE",
    "PROPERTIES",
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

NATIVE_TYPES: frozenset[str] = frozenset(
    {
        NONE,
        "OS::Heat::Value",
        "OS::Heat::RandomString",
        "OS::Heat::TestResource",
        "OS::Heat::SoftwareConfig",
        "OS::Heat::StructuredConfig",
        "OS::Heat::MultipartMime",
        "OS::Heat::CloudConfig",
        "OS::Heat::SoftwareDeployment",
        "OS::Heat::StructuredDeployment",
        "OS::Heat::WaitCondition",
        "OS::Heat::WaitConditionHandle",
        "OS::Heat::UpdateWaitConditionHandle",
        "OS::Heat::SwiftSignal",
        "OS::Heat::SwiftSignalHandle",
        "OS::Heat::DeployedServer",
        "OS::Heat::Stack",
        "OS::Nova::Server",
        "OS::Nova::Flavor",
        "OS::Nova::KeyPair",
        "OS::Nova::ServerGroup",
        "OS::Neutron::Net",
        "OS::Neutron::Subnet",
        "OS::Neutron::Port",
        "OS::Neutron::ProviderNet",
        "OS::Neutron::Router",
        "OS::Neutron::RouterInterface",
        "OS::Neutron::FloatingIP",
        "OS::Neutron::SecurityGroup",
        "OS::Neutron::Segment",
        "OS::Keystone::Project",
        "OS::Keystone::User",
        "OS::Keystone::Role",
        "OS::Swift::Container",
        "OS::Mistral::Workflow",
        "OS::Mistral::ExternalResource",
        "OS::Heat::AutoScalingGroup",
        *STRUCTURAL,
    }
)

# Attribute names of native types whose schema the engine checks get_attr against (every type also has
# "show"). Types not listed accept any attribute name until their plugin declares a schema.
ATTRIBUTES: dict[str, frozenset[str]] = {
    "OS::Heat::Value": frozenset({"value"}),
    "OS::Heat::RandomString": frozenset({"value"}),
}

_CONFIG = frozenset({"group", "config", "inputs", "outputs", "options"})
_DEPLOYMENT = frozenset({"config", "server", "input_values", "actions", "name", "signal_transport"})
# Property names of native types the engine checks (an unknown property is an error, as in Heat). Types not
# listed accept any property until their plugin declares a schema.
PROPERTIES: dict[str, frozenset[str]] = {
    "OS::Heat::Value": frozenset({"value", "type"}),
    "OS::Heat::RandomString": frozenset(
        {"length", "sequence", "character_classes", "character_sequences", "salt"}
    ),
    "OS::Heat::SoftwareConfig": _CONFIG,
    "OS::Heat::StructuredConfig": _CONFIG,
    "OS::Heat::SoftwareDeployment": _DEPLOYMENT,
    "OS::Heat::StructuredDeployment": _DEPLOYMENT | {"input_key", "input_values_validate"},
    "OS::Heat::MultipartMime": frozenset({"parts", "group"}),
    "OS::Heat::CloudConfig": frozenset({"cloud_config"}),
}

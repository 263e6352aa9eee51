"""One declarative schema per native resource type: its properties (type, required, default, whether a
change updates in place) and its attributes.

The engine checks resource properties against these at validate; every backend's plugin of a type decides
update-in-place versus replace from the same schema (``TypeSchema.can_update``), so a noop dry run
predicts what a real update does. A type listed here has a plugin in every backend; a Heat type that is
not listed is refused at validate, naming the type (``HEAT_TYPES_WITHOUT_PLUGIN``).

The property sets follow Heat's own schemas (heat/engine/resources/openstack/...), trimmed to what
tripleo-heat-templates from Liberty to Wallaby use. Where tripleo differs from Heat it says why:
a network's name is its identity in tripleo's IPAM (renaming replaces it), and a port's fixed_ips or a
server's networks are its addresses (changing them replaces it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tripleo.engine.functions.base import contains_unknown

__all__ = ["HEAT_TYPES_WITHOUT_PLUGIN", "SCHEMAS", "Prop", "TypeSchema", "check_properties"]

ANY, STRING, INTEGER, NUMBER, BOOLEAN, MAP, LIST = (
    "any",
    "string",
    "integer",
    "number",
    "boolean",
    "map",
    "list",
)


@dataclass(frozen=True)
class Prop:
    """One property: its type, whether it must be given, its default, and whether a change of it is made
    in place (True) or by replacing the resource (False)."""

    type: str = ANY
    update_allowed: bool = False
    required: bool = False
    default: Any = None


@dataclass(frozen=True)
class TypeSchema:
    name: str
    properties: Mapping[str, Prop]
    attributes: frozenset[str] | None  # None: any attribute name (outputs that depend on the config)
    open: bool = False  # any property name is accepted and updates in place (OS::Heat::None)

    def can_update(self, changed: set[str]) -> bool:
        """Whether changing ``changed`` properties is an update in place (else a replacement)."""
        for name in changed:
            prop = self.properties.get(name)
            if prop is None:
                if not self.open:
                    return False
            elif not prop.update_allowed:
                return False
        return True

    def default(self, props: Mapping[str, Any], name: str) -> Any:
        """A property's value, or its declared default when it is not given."""
        value = props.get(name)
        return self.properties[name].default if value is None else value


def _check_type(kind: str, value: Any) -> str | None:
    if value is None or kind == ANY or contains_unknown(value):
        return None
    if kind == MAP and not isinstance(value, (dict, str)):
        return "expected a map"
    if kind == LIST and not isinstance(value, list):
        return "expected a list"
    if kind == STRING and isinstance(value, (dict, list)):
        return "expected a string"
    if kind in (INTEGER, NUMBER):
        try:
            float(value) if kind == NUMBER else int(str(value))
        except (TypeError, ValueError):
            return "expected an integer" if kind == INTEGER else "expected a number"
        if isinstance(value, bool):
            return f"expected a {kind}"
    if kind == BOOLEAN and not (isinstance(value, bool) or str(value).lower() in ("true", "false")):
        return "expected a boolean"
    return None


def check_properties(schema: TypeSchema, props: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first problem of ``props`` against ``schema`` as (property name, message), or None."""
    if not schema.open:
        for key in props:
            if key not in schema.properties:
                expected = ", ".join(sorted(schema.properties))
                return key, f"Unknown Property {key} of {schema.name} (expected: {expected})"
    for key, prop in schema.properties.items():
        if prop.required and key not in props:
            return key, f"Property {key} of {schema.name} is required"
        reason = _check_type(prop.type, props.get(key))
        if reason:
            return key, f"Property {key} of {schema.name}: {reason}, got {props[key]!r}"
    return None


def _schema(type_name: str, attributes: set[str] | None, /, **props: Prop) -> TypeSchema:
    shown = frozenset(attributes | {"show"}) if attributes is not None else None
    return TypeSchema(type_name, dict(props), shown)


_IN_PLACE = Prop(update_allowed=True)
_REPLACE = Prop()


def _config(type_name: str, /, **extra: Prop) -> TypeSchema:
    common = {"group": Prop(STRING, default="Heat::Ungrouped"), "config": _REPLACE, "inputs": Prop(LIST),
              "outputs": Prop(LIST), "options": Prop(MAP)}  # fmt: skip
    return _schema(type_name, {"config"}, **(extra or common))


def _deployment(type_name: str, /, **extra: Prop) -> TypeSchema:
    return _schema(
        type_name,
        None,  # deploy_stdout, deploy_stderr, deploy_status_code and the config's outputs
        config=Prop(STRING),
        server=Prop(STRING, required=True),
        input_values=Prop(MAP, update_allowed=True),
        actions=Prop(LIST, update_allowed=True, default=["CREATE", "UPDATE"]),
        name=Prop(STRING, update_allowed=True),
        signal_transport=Prop(STRING, update_allowed=True, default="NO_SIGNAL"),
        **extra,
    )


_NEUTRON_COMMON = {"value_specs": Prop(MAP, True), "tags": Prop(LIST, True), "tenant_id": Prop(STRING)}

_ALL: tuple[TypeSchema, ...] = (
    TypeSchema("OS::Heat::None", {}, None, open=True),
    _schema("OS::Heat::Value", {"value"}, value=Prop(ANY, True, required=True), type=Prop(STRING, True)),
    _schema(
        "OS::Heat::RandomString",
        {"value"},
        length=Prop(INTEGER, default=32),
        sequence=Prop(STRING),
        character_classes=Prop(LIST),
        character_sequences=Prop(LIST),
        salt=Prop(STRING),
    ),
    _schema(
        "OS::Heat::TestResource",
        {"output"},
        value=Prop(ANY, True),
        update_replace=Prop(BOOLEAN),
        update_replace_value=Prop(STRING),
        fail=Prop(BOOLEAN, True),
        wait_secs=Prop(NUMBER, True),
        action_wait_secs=Prop(MAP, True),
        attr_wait_secs=Prop(NUMBER, True),
        client_name=Prop(STRING, True),
        entity_name=Prop(STRING, True),
        constraint_prop_secs=Prop(NUMBER, True),
    ),
    _config("OS::Heat::SoftwareConfig"),
    _config("OS::Heat::StructuredConfig"),
    _config("OS::Heat::MultipartMime", parts=Prop(LIST), group=Prop(STRING)),
    _config("OS::Heat::CloudConfig", cloud_config=Prop(MAP)),
    _deployment("OS::Heat::SoftwareDeployment"),
    _deployment("OS::Heat::StructuredDeployment", input_key=Prop(STRING), input_values_validate=Prop(STRING)),
    _schema(
        "OS::Heat::DeployedServer",
        {"name", "networks", "addresses", "os_collect_config"},
        name=Prop(STRING, True),
        metadata=Prop(MAP, True),
        software_config_transport=Prop(STRING, True),
        deployment_swift_data=Prop(MAP, True),
    ),
    _schema(
        "OS::Nova::KeyPair",
        {"public_key", "private_key"},
        name=Prop(STRING),  # Heat requires it, except with external_id (as Wallaby's octavia has it)
        public_key=Prop(STRING),
        save_private_key=Prop(BOOLEAN, default=False),
        type=Prop(STRING),
        user=Prop(STRING),
    ),
    _schema(
        "OS::Nova::Server",
        {
            "name",
            "first_address",
            "networks",
            "addresses",
            "accessIPv4",
            "accessIPv6",
            "instance_name",
            "console_urls",
            "os_collect_config",
            "tags",
        },
        name=Prop(STRING, True),
        metadata=Prop(MAP, True),
        image=Prop(STRING),
        flavor=Prop(STRING),
        key_name=Prop(STRING),
        networks=Prop(LIST),
        user_data=Prop(STRING),
        user_data_format=Prop(STRING),
        software_config_transport=Prop(STRING, True),
        config_drive=Prop(BOOLEAN),
        scheduler_hints=Prop(MAP),
        availability_zone=Prop(STRING),
        block_device_mapping=Prop(LIST),
        block_device_mapping_v2=Prop(LIST),
        security_groups=Prop(LIST, True),
        admin_pass=Prop(STRING, True),
        admin_user=Prop(STRING),
        personality=Prop(MAP, True),
        deployment_swift_data=Prop(MAP, True),
        flavor_update_policy=Prop(STRING, True),
        image_update_policy=Prop(STRING, True),
        user_data_update_policy=Prop(STRING, True),
    ),
    _schema(
        "OS::Neutron::Net",
        {
            "name",
            "subnets",
            "status",
            "admin_state_up",
            "mtu",
            "segments",
            "tenant_id",
            "port_security_enabled",
            "qos_policy_id",
            "l2_adjacency",
        },
        name=Prop(STRING),  # tripleo's IPAM knows a network by its name
        admin_state_up=Prop(BOOLEAN, True),
        shared=Prop(BOOLEAN, True),
        dhcp_agent_ids=Prop(LIST, True),
        port_security_enabled=Prop(BOOLEAN, True),
        qos_policy=Prop(STRING, True),
        dns_domain=Prop(STRING, True),
        **_NEUTRON_COMMON,
    ),
    _schema(
        "OS::Neutron::Subnet",
        {
            "name",
            "cidr",
            "gateway_ip",
            "ip_version",
            "network_id",
            "allocation_pools",
            "dns_nameservers",
            "enable_dhcp",
            "host_routes",
            "tenant_id",
            "subnetpool_id",
        },
        network=Prop(STRING),
        network_id=Prop(STRING),
        cidr=Prop(STRING),
        ip_version=Prop(INTEGER, default=4),
        name=Prop(STRING, True),
        gateway_ip=Prop(STRING, True),
        allocation_pools=Prop(LIST, True),
        enable_dhcp=Prop(BOOLEAN, True),
        dns_nameservers=Prop(LIST, True),
        host_routes=Prop(LIST, True),
        ipv6_address_mode=Prop(STRING),
        ipv6_ra_mode=Prop(STRING),
        subnetpool=Prop(STRING),
        prefixlen=Prop(INTEGER),
        segment=Prop(STRING, True),
        **_NEUTRON_COMMON,
    ),
    _schema(
        "OS::Neutron::Port",
        {
            "name",
            "ip_address",
            "fixed_ips",
            "subnets",
            "mac_address",
            "network_id",
            "network",
            "status",
            "admin_state_up",
            "device_id",
            "device_owner",
            "security_groups",
            "tenant_id",
            "allowed_address_pairs",
            "qos_policy_id",
            "dns_assignment",
            "port_security_enabled",
        },
        network=Prop(STRING),
        network_id=Prop(STRING),
        fixed_ips=Prop(LIST),  # a port's addresses are what it is: a change replaces it
        name=Prop(STRING, True),
        mac_address=Prop(STRING),
        replacement_policy=Prop(STRING, True),
        device_owner=Prop(STRING, True),
        device_id=Prop(STRING, True),
        admin_state_up=Prop(BOOLEAN, True),
        security_groups=Prop(LIST, True),
        allowed_address_pairs=Prop(LIST, True),
        port_security_enabled=Prop(BOOLEAN, True),
        qos_policy=Prop(STRING, True),
        dns_name=Prop(STRING, True),
        **{"binding:vnic_type": Prop(STRING, True)},
        **_NEUTRON_COMMON,
    ),
)

SCHEMAS: dict[str, TypeSchema] = {s.name: s for s in _ALL}

# Heat types tripleo knows by name but has no plugin for: refused at validate, naming the type.
HEAT_TYPES_WITHOUT_PLUGIN: frozenset[str] = frozenset(
    {
        "OS::Heat::WaitCondition",
        "OS::Heat::WaitConditionHandle",
        "OS::Heat::UpdateWaitConditionHandle",
        "OS::Heat::SwiftSignal",
        "OS::Heat::SwiftSignalHandle",
        "OS::Heat::Stack",
        "OS::Heat::AutoScalingGroup",
        "OS::Nova::Flavor",
        "OS::Nova::ServerGroup",
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
    }
)

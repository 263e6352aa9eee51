"""Acceptance 1 of issue 2: every scenario of ../shared/corpus/README.md validates, with counts
    derived by hand.

The expected numbers below were derived by reading the liberty-eol templates in
    ../shared/corpus/tht-liberty,
not by running our engine. Counting rules (the engine's definitions):

* every resource in every stack counts once, after registry resolution;
* a resource whose type resolves to a template file (through the registry, or written as
  ``foo.yaml``) counts 1
  and opens one nested stack at parent depth + 1;
* OS::Heat::ResourceGroup counts 1 and opens one nested stack whose members "0".."count-1" count 1 each (and
  open their own stack when they are templates); OS::Heat::StructuredDeployments /
  SoftwareDeployments count 1
  and open one nested stack with 0 members, since their ``servers`` come from get_attr (unknown
  before create);
* any other native type counts 1 and opens nothing; max_depth is the deepest stack (top stack = 0).

Node counts: overcloud.yaml defaults ControllerCount 1, ComputeCount 1, BlockStorageCount 0,
ObjectStorageCount 0, CephStorageCount 0; *RemovalPolicies default []; no environment changes them.
The registry is overcloud-resource-registry-puppet.yaml, then the scenario's environments in order
    (later wins),
with paths relative to each environment file (``environments/../network/x.yaml`` = ``network/x.yaml``).

Per-file tallies (R = resources in the file; T = template resources, i.e. nested stacks it opens; G
    = groups)
----------------------------------------------------------------------------------------------------
overcloud.yaml  R=53:
    8 native: HeatAuthEncryptionKey, PcsdPassword, HorizonSecret, MysqlRootPassword, MysqlClusterUniquePart,
      RabbitCookie (OS::Heat::RandomString), ControlVirtualIP (OS::Neutron::Port),
      ControllerClusterConfig (OS::Heat::StructuredConfig)
    5 OS::Heat::ResourceGroup: Controller (count 1), Compute (1), BlockStorage (0), ObjectStorage (0),
      CephStorage (0)
    18 OS::Heat::StructuredDeployments (0 members each): VipDeployment, ControllerBootstrapNodeDeployment,
      ControllerSwiftDeployment, ObjectStorageSwiftDeployment, ComputeCephDeployment,
      ControllerCephDeployment,
      CephStorageCephDeployment, ControllerClusterDeployment, 5 x *AllNodesDeployment,
      5 x *AllNodesValidationDeployment
    22 template resources (default registry -> file: R):
      EndpointMap -> network/endpoints/endpoint_map.yaml: 0
      ControllerIpListMap -> network/ports/net_ip_list_map.yaml: 0
      allNodesConfig -> puppet/all-nodes-config.yaml: 1 (StructuredConfig)
      Networks -> network/networks.yaml: 6 (six OS::TripleO::Network::* template resources)
      RedisVirtualIP -> network/ports/ctlplane_vip.yaml: 1 (Port)
      PublicVirtualIP, InternalApiVirtualIP, StorageVirtualIP, StorageMgmtVirtualIP ->
      network/ports/noop.yaml: 0
      VipMap -> network/ports/net_ip_map.yaml: 0
      VipConfig -> puppet/vip-config.yaml: 1
      ControllerBootstrapNodeConfig -> puppet/bootstrap-config.yaml: 1
      SwiftDevicesAndProxyConfig -> puppet/swift-devices-and-proxy-config.yaml: 1
      CephClusterConfig -> puppet/ceph-cluster-config.yaml: 1
      AllNodesValidationConfig -> all-nodes-validation.yaml: 1
      UpdateWorkflow -> extraconfig/tasks/noop.yaml: 0
      AllNodesExtraConfig -> extraconfig/all_nodes/default.yaml: 0
      ControllerNodesPostDeployment -> puppet/controller-post.yaml: 13
      ComputeNodesPostDeployment -> puppet/compute-post.yaml: 5
      ObjectStorageNodesPostDeployment -> puppet/swift-storage-post.yaml: 7
      BlockStorageNodesPostDeployment -> puppet/cinder-storage-post.yaml: 5
      CephStorageNodesPostDeployment -> puppet/ceph-storage-post.yaml: 5
    8 + 5 + 18 + 22 = 53; nested stacks at depth 1: 5 + 18 + 22 = 45.
network/networks.yaml  R=6, T=6: External/InternalApi/StorageMgmt/Storage/Tenant/Management ->
    network/noop.yaml
    (R=0) by default;
    network/{external,internal_api,storage_mgmt,storage,tenant,management}[_v6].yaml have R=2
    (OS::Neutron::Net + Subnet).
puppet/controller-post.yaml  R=13, T=12: ControllerArtifactsConfig (type: deploy-artifacts.yaml ->
    puppet/deploy-artifacts.yaml, R=1), 7 StructuredDeployments (ArtifactsDeploy, Step1..Step6),
    ControllerPrePuppet and ControllerPostPuppet (-> extraconfig/tasks/noop.yaml R=0 by default),
    ControllerPuppetConfig (-> puppet/controller-config.yaml R=1), ExtraConfig (->
    extraconfig/post_deploy/default.yaml
    R=0), 1 native SoftwareConfig (ControllerRingbuilderPuppetConfig). Children hold 1 + 1 = 2 resources.
puppet/compute-post.yaml  R=5, T=4: ComputeArtifactsConfig (deploy-artifacts, R=1), 2 StructuredDeployments,
    ExtraConfig (R=0), 1 native SoftwareConfig. Children hold 1 resource.
puppet/swift-storage-post.yaml  R=7, T=5: artifacts (R=1), 3 StructuredDeployments, ExtraConfig
    (R=0), 2 natives.
puppet/cinder-storage-post.yaml, puppet/ceph-storage-post.yaml  R=5, T=4 each: artifacts (R=1),
    2 StructuredDeployments, ExtraConfig (R=0), 1 native.
puppet/controller.yaml  R=22, T=16: 6 natives (Controller server, UserData MultipartMime,
    NetworkDeployment and
    ControllerDeployment = OS::TripleO::SoftwareDeployment -> OS::Heat::StructuredDeployment,
    ControllerConfig,
    UpdateDeployment); 16 templates: NodeAdminUserData (firstboot/userdata_heat_admin.yaml R=2),
    NodeUserData (firstboot/userdata_default.yaml R=1), NetworkConfig (net-config-bridge.yaml R=1),
    UpdateConfig (extraconfig/tasks/yum_update.yaml R=1), 6 ports
    External/InternalApi/Storage/StorageMgmt/Tenant/
    Management (network/ports/noop.yaml R=0 by default), NetIpMap, NetIpSubnetMap, NodeTLSCAData,
    NodeTLSData,
    ControllerExtraConfigPre, NodeExtraConfig (all R=0). Children hold 2 + 1 + 1 + 1 = 5 resources
    by default.
puppet/compute.yaml  R=20, T=14: 6 natives (NovaCompute, UserData, NetworkDeployment, NovaComputeConfig,
    NovaComputeDeployment, UpdateDeployment); 14 templates: NodeAdminUserData (R=2), NodeUserData (R=1),
    NetworkConfig (net-config-noop.yaml R=1), UpdateConfig (R=1), 6 ports (R=0 by default), NetIpMap,
    NodeTLSCAData, ComputeExtraConfigPre, NodeExtraConfig (R=0). Children hold 5 resources by default.
Every net-config-*.yaml and network/config/*/*.yaml has R=1 (OsNetConfigImpl), so swapping NIC
    configs changes
implementations, never counts. Every network/ports/<net>[_v6].yaml, vip[_v6].yaml, ctlplane_vip.yaml and
management.yaml has R=1 (one OS::Neutron::Port); noop.yaml and every *_from_pool*.yaml has R=0.
extraconfig/tasks/pre_puppet_pacemaker.yaml  R=2 (SoftwareConfig + OS::Heat::SoftwareDeployments, 1 stack);
extraconfig/tasks/post_puppet_pacemaker.yaml  R=4 (2 SoftwareConfig + 2 SoftwareDeployments, 2 stacks);
puppet/controller-config-pacemaker.yaml R=1 (same as puppet/controller-config.yaml).
docker/compute-post.yaml  R=15, T=8: 7 natives (4 SoftwareConfig, 3 StructuredConfig), 7 deployment groups
    (4 SoftwareDeployments, 3 StructuredDeployments), ExtraConfig (R=0).
docker/firstboot/install_docker_agents.yaml  R=2 (MultipartMime + SoftwareConfig).

max_depth is 3 in every scenario: overcloud (0) -> Controller group (1) -> Controller/0 =
puppet/controller.yaml (2) -> Controller/0/NodeAdminUserData = firstboot/userdata_heat_admin.yaml (3),
and no depth-3 stack holds a template or group resource (with pacemaker, ControllerNodesPostDeployment (1)
-> ControllerPrePuppet (2) -> its SoftwareDeployments group (3), which has no members).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus" / "tht-liberty"

REGISTRY = "overcloud-resource-registry-puppet.yaml"
NETISO = ("environments/network-isolation.yaml", "environments/net-single-nic-with-vlans.yaml")

# A derivation term: (what, resources it adds, nested stacks it adds).
Term = tuple[str, int, int]

DEFAULT_TERMS: tuple[Term, ...] = (
    ("overcloud.yaml: 8 native + 5 ResourceGroup + 18 StructuredDeployments + 22 template resources", 53, 0),
    (
        "depth-1 stacks of the 17 non-post template resources: allNodesConfig 1 + Networks 6 + "
        "RedisVirtualIP "
        "(ctlplane_vip) 1 + VipConfig 1 + BootstrapNodeConfig 1 + SwiftDevicesAndProxyConfig 1 + "
        "CephClusterConfig 1 "
        "+ AllNodesValidationConfig 1 (EndpointMap, ControllerIpListMap, 4 VIP noop ports, VipMap, "
        "UpdateWorkflow, "
        "AllNodesExtraConfig: 0)",
        13,
        17,
    ),
    (
        "depth-1 stacks of the 5 *NodesPostDeployment: controller-post 13 + compute-post 5 + "
        "swift-storage-post 7 + "
        "cinder-storage-post 5 + ceph-storage-post 5",
        35,
        5,
    ),
    ("depth-1 stacks of the 18 StructuredDeployments (0 members: servers from get_attr)", 0, 18),
    (
        "depth-1 stacks of the 5 ResourceGroups: members Controller/0 + Compute/0 (3 storage groups empty)",
        2,
        5,
    ),
    ("depth 2: Networks/* -> 6 x network/noop.yaml", 0, 6),
    (
        "depth 2: controller-post children: deploy-artifacts 1 + controller-config 1; 7 "
        "StructuredDeployments, "
        "PrePuppet noop, PostPuppet noop, ExtraConfig 0",
        2,
        12,
    ),
    ("depth 2: compute-post children: deploy-artifacts 1; 2 StructuredDeployments, ExtraConfig 0", 1, 4),
    (
        "depth 2: swift-storage-post children: deploy-artifacts 1; 3 StructuredDeployments, ExtraConfig 0",
        1,
        5,
    ),
    (
        "depth 2: cinder-storage-post children: deploy-artifacts 1; 2 StructuredDeployments, ExtraConfig 0",
        1,
        4,
    ),
    ("depth 2: ceph-storage-post children: deploy-artifacts 1; 2 StructuredDeployments, ExtraConfig 0", 1, 4),
    ("depth 2: Controller/0 = puppet/controller.yaml", 22, 1),
    (
        "depth 3: Controller/0 children: NodeAdminUserData 2 + NodeUserData 1 + NetworkConfig "
        "(net-config-bridge) 1 "
        "+ UpdateConfig 1; 6 noop ports, NetIpMap, NetIpSubnetMap, TLS x2, ExtraConfigPre, NodeExtraConfig 0",
        5,
        16,
    ),
    ("depth 2: Compute/0 = puppet/compute.yaml", 20, 1),
    (
        "depth 3: Compute/0 children: NodeAdminUserData 2 + NodeUserData 1 + NetworkConfig "
        "(net-config-noop) 1 + "
        "UpdateConfig 1; 6 noop ports, NetIpMap, NodeTLSCAData, ExtraConfigPre, NodeExtraConfig 0",
        5,
        14,
    ),
)

NETISO_NETWORKS: Term = (
    "network-isolation: Networks/{External,InternalApi,StorageMgmt,Storage,Tenant}Network -> "
    "network/<net>.yaml "
    "(Net + Subnet = 2 each; Management stays network/noop.yaml)",
    10,
    0,
)
NETISO_VIPS: Term = (
    "network-isolation: Public/InternalApi/Storage/StorageMgmt VirtualIP -> network/ports/<net>.yaml "
    "(1 Port each, "
    "was noop 0); RedisVirtualIP vip.yaml 1 (was ctlplane_vip.yaml 1)",
    4,
    0,
)
NETISO_CONTROLLER_PORTS: Term = (
    "network-isolation: Controller/0 External/InternalApi/Storage/StorageMgmt/Tenant ports 1 Port each "
    "(ManagementPort stays noop)",
    5,
    0,
)
NETISO_COMPUTE_PORTS: Term = (
    "network-isolation: Compute/0 InternalApi/Storage/Tenant ports 1 Port each (External, StorageMgmt, "
    "Management stay noop)",
    3,
    0,
)
NIC_CONFIGS: Term = ("NIC config templates swapped: every one has 1 OsNetConfigImpl, as before", 0, 0)
NETISO_TERMS: tuple[Term, ...] = (
    *DEFAULT_TERMS,
    NETISO_NETWORKS,
    NETISO_VIPS,
    NETISO_CONTROLLER_PORTS,
    NETISO_COMPUTE_PORTS,
    NIC_CONFIGS,
)
PACEMAKER_TERMS: tuple[Term, ...] = (
    (
        "puppet-pacemaker: ControllerPrePuppet -> pre_puppet_pacemaker.yaml: SoftwareConfig + "
        "SoftwareDeployments "
        "(its 0-member stack at depth 3), was noop 0",
        2,
        1,
    ),
    (
        "puppet-pacemaker: ControllerPostPuppet -> post_puppet_pacemaker.yaml: 2 SoftwareConfig + 2 "
        "SoftwareDeployments (2 stacks), was noop 0",
        4,
        2,
    ),
    (
        "puppet-pacemaker: ControllerPuppetConfig -> controller-config-pacemaker.yaml 1, as "
        "controller-config.yaml",
        0,
        0,
    ),
)
# One more Compute member under network isolation: the member 1 + puppet/compute.yaml 20 + its children
# (NodeAdminUserData 2 + NodeUserData 1 + NetworkConfig 1 + UpdateConfig 1 +
# InternalApi/Storage/Tenant ports 3)
# = 29 resources; stacks: the member's compute.yaml 1 + its 14 template resources = 15.
PER_NETISO_COMPUTE = (1 + 20 + 2 + 1 + 1 + 1 + 3, 1 + 14)


@dataclass(frozen=True)
class Scenario:
    envs: tuple[str, ...]
    resource_count: int
    nested_stack_count: int
    max_depth: int
    terms: tuple[Term, ...]
    # path -> (type as written, implementation) that must appear in the resources list
    paths: dict[str, tuple[str, str]]
    absent: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()


PORT_TYPE = "OS::TripleO::{role}::Ports::{net}Port"
CTRL_NET = "OS::TripleO::Controller::Net::SoftwareConfig"
COMP_NET = "OS::TripleO::Compute::Net::SoftwareConfig"
SD = "OS::Heat::StructuredDeployments"

COMMON_PATHS: dict[str, tuple[str, str]] = {
    "Controller": ("OS::Heat::ResourceGroup", "OS::Heat::ResourceGroup"),
    "Controller/0": ("OS::TripleO::Controller", "puppet/controller.yaml"),
    "Controller/0/Controller": ("OS::Nova::Server", "OS::Nova::Server"),
    "Controller/0/NetworkDeployment": ("OS::TripleO::SoftwareDeployment", "OS::Heat::StructuredDeployment"),
    "Controller/0/NodeAdminUserData/user_config": ("OS::Heat::CloudConfig", "OS::Heat::CloudConfig"),
    "Compute/0": ("OS::TripleO::Compute", "puppet/compute.yaml"),
    "Compute/0/UpdateConfig": ("OS::TripleO::Tasks::PackageUpdate", "extraconfig/tasks/yum_update.yaml"),
    "BlockStorage": ("OS::Heat::ResourceGroup", "OS::Heat::ResourceGroup"),
    "VipDeployment": (SD, SD),
    "EndpointMap": ("OS::TripleO::EndpointMap", "network/endpoints/endpoint_map.yaml"),
    "ControllerNodesPostDeployment/ControllerArtifactsConfig": (
        "deploy-artifacts.yaml",
        "puppet/deploy-artifacts.yaml",
    ),
    "ControllerNodesPostDeployment/ControllerArtifactsConfig/DeployArtifacts": (
        "OS::Heat::SoftwareConfig",
        "OS::Heat::SoftwareConfig",
    ),
    "ControllerNodesPostDeployment/ControllerOvercloudServicesDeployment_Step6": (SD, SD),
}
COMMON_ABSENT = ("Controller/1", "Compute/1", "BlockStorage/0", "CephStorage/0", "VipDeployment/0")

NETISO_PATHS: dict[str, tuple[str, str]] = {
    **COMMON_PATHS,
    "Controller/0/InternalApiPort": (
        PORT_TYPE.format(role="Controller", net="InternalApi"),
        "network/ports/internal_api.yaml",
    ),
    "Controller/0/InternalApiPort/InternalApiPort": ("OS::Neutron::Port", "OS::Neutron::Port"),
    "Controller/0/ManagementPort": (
        PORT_TYPE.format(role="Controller", net="Management"),
        "network/ports/noop.yaml",
    ),
    "Compute/0/ExternalPort": (PORT_TYPE.format(role="Compute", net="External"), "network/ports/noop.yaml"),
    "Compute/0/TenantPort/TenantPort": ("OS::Neutron::Port", "OS::Neutron::Port"),
    "Networks/ExternalNetwork": ("OS::TripleO::Network::External", "network/external.yaml"),
    "Networks/ExternalNetwork/ExternalSubnet": ("OS::Neutron::Subnet", "OS::Neutron::Subnet"),
    "Networks/ManagementNetwork": ("OS::TripleO::Network::Management", "network/noop.yaml"),
    "PublicVirtualIP": ("OS::TripleO::Network::Ports::ExternalVipPort", "network/ports/external.yaml"),
    "RedisVirtualIP": ("OS::TripleO::Network::Ports::RedisVipPort", "network/ports/vip.yaml"),
}
SINGLE_NIC_PATHS: dict[str, tuple[str, str]] = {
    "Controller/0/NetworkConfig": (CTRL_NET, "network/config/single-nic-vlans/controller.yaml"),
    "Compute/0/NetworkConfig": (COMP_NET, "network/config/single-nic-vlans/compute.yaml"),
}
PACEMAKER_PATHS: dict[str, tuple[str, str]] = {
    "ControllerNodesPostDeployment/ControllerPuppetConfig": (
        "OS::TripleO::ControllerConfig",
        "puppet/controller-config-pacemaker.yaml",
    ),
    "ControllerNodesPostDeployment/ControllerPrePuppet": (
        "OS::TripleO::Tasks::ControllerPrePuppet",
        "extraconfig/tasks/pre_puppet_pacemaker.yaml",
    ),
    "ControllerNodesPostDeployment/ControllerPrePuppet/ControllerPrePuppetMaintenanceModeDeployment": (
        "OS::Heat::SoftwareDeployments",
        "OS::Heat::SoftwareDeployments",
    ),
    "ControllerNodesPostDeployment/ControllerPostPuppet/ControllerPostPuppetRestartDeployment": (
        "OS::Heat::SoftwareDeployments",
        "OS::Heat::SoftwareDeployments",
    ),
}

SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(
        envs=(),
        resource_count=161,
        nested_stack_count=112,
        max_depth=3,
        terms=DEFAULT_TERMS,
        paths={
            **COMMON_PATHS,
            "Controller/0/InternalApiPort": (
                PORT_TYPE.format(role="Controller", net="InternalApi"),
                "network/ports/noop.yaml",
            ),
            "Controller/0/NetworkConfig": (CTRL_NET, "net-config-bridge.yaml"),
            "Compute/0/NetworkConfig": (COMP_NET, "net-config-noop.yaml"),
            "Networks/ExternalNetwork": ("OS::TripleO::Network::External", "network/noop.yaml"),
            "RedisVirtualIP": (
                "OS::TripleO::Network::Ports::RedisVipPort",
                "network/ports/ctlplane_vip.yaml",
            ),
            "RedisVirtualIP/VipPort": ("OS::Neutron::Port", "OS::Neutron::Port"),
            "ControllerNodesPostDeployment/ControllerPrePuppet": (
                "OS::TripleO::Tasks::ControllerPrePuppet",
                "extraconfig/tasks/noop.yaml",
            ),
        },
        absent=(*COMMON_ABSENT, "Controller/0/InternalApiPort/InternalApiPort"),
    ),
    "netiso": Scenario(
        envs=NETISO,
        resource_count=183,
        nested_stack_count=112,
        max_depth=3,
        terms=NETISO_TERMS,
        paths={**NETISO_PATHS, **SINGLE_NIC_PATHS},
        absent=COMMON_ABSENT,
    ),
    "netiso-ha": Scenario(
        envs=("environments/puppet-pacemaker.yaml", *NETISO),
        resource_count=189,
        nested_stack_count=115,
        max_depth=3,
        terms=(*NETISO_TERMS, *PACEMAKER_TERMS),
        paths={**NETISO_PATHS, **SINGLE_NIC_PATHS, **PACEMAKER_PATHS},
        absent=COMMON_ABSENT,
    ),
    "netiso-bond": Scenario(
        envs=("environments/network-isolation.yaml", "environments/net-bond-with-vlans.yaml"),
        resource_count=183,
        nested_stack_count=112,
        max_depth=3,
        terms=NETISO_TERMS,
        paths={
            **NETISO_PATHS,
            "Controller/0/NetworkConfig": (CTRL_NET, "network/config/bond-with-vlans/controller.yaml"),
            "Compute/0/NetworkConfig": (COMP_NET, "network/config/bond-with-vlans/compute.yaml"),
        },
        absent=COMMON_ABSENT,
    ),
    "netiso-v6": Scenario(
        envs=("environments/network-isolation-v6.yaml", "environments/net-single-nic-with-vlans-v6.yaml"),
        resource_count=183,
        nested_stack_count=112,
        max_depth=3,
        # Same shape as netiso: network-isolation-v6 maps the same 5 networks
        # (External/InternalApi/StorageMgmt/
        # Storage *_v6, Tenant IPv4 tenant.yaml), the same 4 VIPs (+ vip_v6), the same 5 controller ports and
        # 3 compute ports; the keys it leaves out (Management, Compute External/StorageMgmt/Management, ...)
        # stay noop from the puppet registry. Its parameter_defaults (CephIPv6, NovaIPv6, ...) change
        # no count.
        terms=NETISO_TERMS,
        paths={
            **COMMON_PATHS,
            "Controller/0/InternalApiPort": (
                PORT_TYPE.format(role="Controller", net="InternalApi"),
                "network/ports/internal_api_v6.yaml",
            ),
            "Controller/0/TenantPort": (
                PORT_TYPE.format(role="Controller", net="Tenant"),
                "network/ports/tenant.yaml",
            ),
            "Controller/0/ManagementPort": (
                PORT_TYPE.format(role="Controller", net="Management"),
                "network/ports/noop.yaml",
            ),
            "Compute/0/ExternalPort": (
                PORT_TYPE.format(role="Compute", net="External"),
                "network/ports/noop.yaml",
            ),
            "Compute/0/StoragePort": (
                PORT_TYPE.format(role="Compute", net="Storage"),
                "network/ports/storage_v6.yaml",
            ),
            "Networks/ExternalNetwork": ("OS::TripleO::Network::External", "network/external_v6.yaml"),
            "Networks/TenantNetwork": ("OS::TripleO::Network::Tenant", "network/tenant.yaml"),
            "Networks/ManagementNetwork": ("OS::TripleO::Network::Management", "network/noop.yaml"),
            "RedisVirtualIP": ("OS::TripleO::Network::Ports::RedisVipPort", "network/ports/vip_v6.yaml"),
            "Controller/0/NetworkConfig": (CTRL_NET, "network/config/single-nic-vlans/controller-v6.yaml"),
            "Compute/0/NetworkConfig": (COMP_NET, "network/config/single-nic-vlans/compute.yaml"),
        },
        absent=COMMON_ABSENT,
    ),
    "multinic-pool-mgmt": Scenario(
        envs=(
            "environments/puppet-pacemaker.yaml",
            "environments/network-isolation.yaml",
            "environments/net-multiple-nics.yaml",
            "environments/ips-from-pool-all.yaml",
            "environments/network-management.yaml",
        ),
        resource_count=185,
        nested_stack_count=115,
        max_depth=3,
        terms=(
            *DEFAULT_TERMS,
            NETISO_NETWORKS,
            (
                "network-management: Networks/ManagementNetwork -> network/management.yaml (Net + Subnet)",
                2,
                0,
            ),
            NETISO_VIPS,
            (
                "ips-from-pool-all: Controller/0 External/InternalApi/Storage/StorageMgmt/Tenant -> "
                "*_from_pool.yaml "
                "(0 resources each)",
                0,
                0,
            ),
            (
                "network-management: Controller/0/ManagementPort -> network/ports/management.yaml (1 Port)",
                1,
                0,
            ),
            (
                "ips-from-pool-all: Compute/0 InternalApi/Storage/Tenant -> *_from_pool.yaml 0, "
                "External/StorageMgmt "
                "noop 0",
                0,
                0,
            ),
            ("network-management: Compute/0/ManagementPort -> network/ports/management.yaml (1 Port)", 1, 0),
            NIC_CONFIGS,
            *PACEMAKER_TERMS,
        ),
        paths={
            **COMMON_PATHS,
            **PACEMAKER_PATHS,
            "Controller/0/InternalApiPort": (
                PORT_TYPE.format(role="Controller", net="InternalApi"),
                "network/ports/internal_api_from_pool.yaml",
            ),
            "Controller/0/ManagementPort": (
                PORT_TYPE.format(role="Controller", net="Management"),
                "network/ports/management.yaml",
            ),
            "Controller/0/ManagementPort/ManagementPort": ("OS::Neutron::Port", "OS::Neutron::Port"),
            "Compute/0/StorageMgmtPort": (
                PORT_TYPE.format(role="Compute", net="StorageMgmt"),
                "network/ports/noop.yaml",
            ),
            "Compute/0/TenantPort": (
                PORT_TYPE.format(role="Compute", net="Tenant"),
                "network/ports/tenant_from_pool.yaml",
            ),
            "Networks/ManagementNetwork": ("OS::TripleO::Network::Management", "network/management.yaml"),
            "Networks/ManagementNetwork/ManagementSubnet": ("OS::Neutron::Subnet", "OS::Neutron::Subnet"),
            "PublicVirtualIP": (
                "OS::TripleO::Network::Ports::ExternalVipPort",
                "network/ports/external.yaml",
            ),
            "Controller/0/NetworkConfig": (CTRL_NET, "network/config/multiple-nics/controller.yaml"),
            "Compute/0/NetworkConfig": (COMP_NET, "network/config/multiple-nics/compute.yaml"),
        },
        absent=(
            *COMMON_ABSENT,
            "Controller/0/InternalApiPort/InternalApiPort",
            "Compute/0/TenantPort/TenantPort",
        ),
    ),
    "docker": Scenario(
        envs=("environments/docker.yaml", "environments/docker-network.yaml"),
        resource_count=172,
        nested_stack_count=116,
        max_depth=3,
        terms=(
            *DEFAULT_TERMS,
            (
                "docker: ComputeNodesPostDeployment -> docker/compute-post.yaml: 15 resources (7 "
                "native configs, "
                "7 deployment groups, ExtraConfig) instead of puppet/compute-post.yaml's 5",
                15 - 5,
                0,
            ),
            (
                "docker: its 8 child stacks (7 deployment groups with 0 members + ExtraConfig 0) instead of "
                "compute-post's 4 (deploy-artifacts 1 + 2 StructuredDeployments + ExtraConfig)",
                0 - 1,
                8 - 4,
            ),
            (
                "docker: OS::TripleO::NodeUserData -> docker/firstboot/install_docker_agents.yaml "
                "(2) instead of "
                "userdata_default.yaml (1), in Controller/0 and Compute/0",
                2 * (2 - 1),
                0,
            ),
            ("docker-network: Compute NetworkConfig -> net-config-bridge.yaml (1, as net-config-noop)", 0, 0),
        ),
        paths={
            **COMMON_PATHS,
            "ComputeNodesPostDeployment": ("OS::TripleO::ComputePostDeployment", "docker/compute-post.yaml"),
            "ComputeNodesPostDeployment/NovaComputeContainersDeployment": (SD, SD),
            "ComputeNodesPostDeployment/CopyEtcDeployment": (
                "OS::Heat::SoftwareDeployments",
                "OS::Heat::SoftwareDeployments",
            ),
            "ControllerNodesPostDeployment": (
                "OS::TripleO::ControllerPostDeployment",
                "puppet/controller-post.yaml",
            ),
            "Compute/0/NodeUserData": (
                "OS::TripleO::NodeUserData",
                "docker/firstboot/install_docker_agents.yaml",
            ),
            "Controller/0/NodeUserData": (
                "OS::TripleO::NodeUserData",
                "docker/firstboot/install_docker_agents.yaml",
            ),
            "Compute/0/NodeUserData/install_docker_agents": (
                "OS::Heat::SoftwareConfig",
                "OS::Heat::SoftwareConfig",
            ),
            "Compute/0/NetworkConfig": (COMP_NET, "net-config-bridge.yaml"),
        },
        absent=(*COMMON_ABSENT, "ComputeNodesPostDeployment/ComputeArtifactsConfig"),
    ),
    # Scaling check: netiso with --parameter ComputeCount=3 adds Compute/1 and Compute/2, each
    # 1 member + 20 (compute.yaml) + 8 (its children under netiso) = 29 resources and 1 + 14 = 15 stacks.
    "netiso-compute3": Scenario(
        envs=NETISO,
        parameters=("ComputeCount=3",),
        resource_count=183 + 2 * 29,
        nested_stack_count=112 + 2 * 15,
        max_depth=3,
        terms=(
            *NETISO_TERMS,
            (
                "ComputeCount=3: Compute/1 and Compute/2, each member 1 + compute.yaml 20 + children "
                "8 (user data 3, "
                "NetworkConfig 1, UpdateConfig 1, 3 netiso ports); stacks compute.yaml 1 + 14 children",
                2 * PER_NETISO_COMPUTE[0],
                2 * PER_NETISO_COMPUTE[1],
            ),
        ),
        paths={
            **NETISO_PATHS,
            "Compute/2": ("OS::TripleO::Compute", "puppet/compute.yaml"),
            "Compute/2/TenantPort": (
                PORT_TYPE.format(role="Compute", net="Tenant"),
                "network/ports/tenant.yaml",
            ),
            "Compute/1/InternalApiPort/InternalApiPort": ("OS::Neutron::Port", "OS::Neutron::Port"),
        },
        absent=("Compute/3", "Controller/1", "VipDeployment/0"),
    ),
}


def derivation(scenario: Scenario) -> str:
    """The arithmetic behind a scenario's numbers, one term a line."""
    lines = [f"  {res:+4d} resources {nest:+4d} stacks  {what}" for what, res, nest in scenario.terms]
    return "\n".join(lines)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_derivation_adds_up(name: str) -> None:
    """The table's numbers are the sums of their derivation terms (no engine involved)."""
    scenario = SCENARIOS[name]
    assert sum(t[1] for t in scenario.terms) == scenario.resource_count, derivation(scenario)
    assert sum(t[2] for t in scenario.terms) == scenario.nested_stack_count, derivation(scenario)


def test_scaling_difference_per_compute() -> None:
    """Each extra compute under netiso costs 29 resources and 15 nested stacks."""
    base, scaled = SCENARIOS["netiso"], SCENARIOS["netiso-compute3"]
    assert scaled.resource_count - base.resource_count == 2 * 29 == 2 * PER_NETISO_COMPUTE[0]
    assert scaled.nested_stack_count - base.nested_stack_count == 2 * 15 == 2 * PER_NETISO_COMPUTE[1]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_corpus_scenario_validates(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not CORPUS.is_dir():
        pytest.skip(
            f"../shared/corpus is absent: {CORPUS} not found (the THT liberty corpus lives beside the repo)"
        )
    from tripleo.cli.main import cli

    scenario = SCENARIOS[name]
    args = ["stack", "validate", "-t", "overcloud.yaml", "-e", REGISTRY]
    for env in scenario.envs:
        args += ["-e", env]
    for param in scenario.parameters:
        args += ["--parameter", param]
    args += ["-f", "json"]
    monkeypatch.chdir(CORPUS)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, f"{' '.join(args)} -> {result.exit_code}\n{result.output}"
    report = json.loads(result.stdout)
    assert report["valid"] is True
    got = (report["resource_count"], report["nested_stack_count"], report["max_depth"])
    want = (scenario.resource_count, scenario.nested_stack_count, scenario.max_depth)
    assert got == want, f"(resources, nested stacks, depth) for {name}; derivation:\n{derivation(scenario)}"

    resources = report["resources"]
    paths = [r["path"] for r in resources]
    assert len(paths) == len(set(paths)), "duplicate resource paths"
    assert len(resources) == scenario.resource_count, "the resources list should hold every counted resource"
    by_path = {r["path"]: (r["type"], r["implementation"]) for r in resources}
    for path, expected in scenario.paths.items():
        assert path in by_path, f"{path} missing from {name}"
        assert by_path[path] == expected, f"{path}: (type, implementation)"
    for path in scenario.absent:
        assert path not in by_path, f"{path} should not exist in {name}"

# Neutron's linuxbridge agent, in step 4: VXLAN from the node's address of its tenant network, with
# l2population (the server tells each agent where every port lives: unicast forwarding entries, no
# multicast), provider networks on the NICs of `physical_interface_mappings` (physnet:interface), security
# groups through iptables on the bridges; the tunnels' UDP port is `vxlan_port`.
class tripleo::profile::base::neutron::linuxbridge (
  Stdlib::IP::Address $local_ip,
  Integer $step = Integer($facts['tripleo_step']),
  Variant[Undef, String, Array[String]] $physical_interface_mappings = undef,
  Stdlib::Port $vxlan_port = 4789,
) {
  include tripleo::profile::base::neutron
  if $step == 4 {
    class { 'neutron::agents::ml2::linuxbridge':
      local_ip                    => $local_ip,
      l2_population               => true,
      physical_interface_mappings => $physical_interface_mappings ? {
        String  => split($physical_interface_mappings, ','),
        Undef   => [],
        default => $physical_interface_mappings,
      },
    }
    # the port the node's firewall opens on the tenant network (unset, the kernel would use 8472)
    neutron_agent_linuxbridge { 'vxlan/udp_dstport':
      value => $vxlan_port,
    }
  }
}

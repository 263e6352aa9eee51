# Neutron's linuxbridge agent, in step 4: VXLAN from the node's address of its tenant network, with
# l2population (the server tells each agent where every port lives: unicast forwarding entries, no
# multicast), provider networks on the NICs of `physical_interface_mappings` (physnet:interface, nicN as
# the NIC layout says, resolved to the node's NIC through tripleo::nic_names), security
# groups through iptables on the bridges; the tunnels' UDP port is `vxlan_port`. The agent's ebtables is
# files/ebtables-among (Debian 12's ebtables-nft cannot delete the among rules of its ARP protection; the
# agent then retries forever and wires no other port): first in the secure_path of the agent's sudo, so
# its privsep daemons run it. Its directory is root's in root's /etc/tripleo (/etc/neutron is neutron's own:
# that user could swap a directory there for one of its own).
class tripleo::profile::base::neutron::linuxbridge (
  Stdlib::IP::Address $local_ip,
  Integer $step = Integer($facts['tripleo_step']),
  Variant[Undef, String, Array[String]] $physical_interface_mappings = undef,
  Stdlib::Port $vxlan_port = 4789,
  Hash[String, String] $nic_names = lookup('tripleo::nic_names', Hash[String, String], 'first', {}),
) {
  include tripleo::profile::base::neutron
  if $step == 4 {
    $mappings = $physical_interface_mappings ? {
      String  => split($physical_interface_mappings, ','),
      Undef   => [],
      default => $physical_interface_mappings,
    }
    # physnet:nicN as the NIC layout names it -> physnet:<the node's NIC>
    $resolved = $mappings.map |$m| {
      $pair = split($m, ':')
      "${pair[0]}:${pick($nic_names[$pair[1]], $pair[1])}"
    }
    class { 'neutron::agents::ml2::linuxbridge':
      local_ip                    => $local_ip,
      l2_population               => true,
      physical_interface_mappings => $resolved,
    }
    file { '/etc/tripleo/neutron-bin':  # in /etc/tripleo, made by config download
      ensure => directory,
      owner  => 'root',
      group  => 'root',
      mode   => '0755',
    }
    file { '/etc/tripleo/neutron-bin/ebtables':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      content => file('tripleo/ebtables-among'),
    }
    $path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'  # sudo's own
    file { '/etc/sudoers.d/tripleo-neutron-path':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0440',
      content => "# managed by tripleo (puppet)\nDefaults:neutron secure_path=\"/etc/tripleo/neutron-bin:${path}\"\n",
    }
    File['/etc/tripleo/neutron-bin/ebtables'] ~> Service['neutron-plugin-linuxbridge-agent']
    File['/etc/sudoers.d/tripleo-neutron-path'] ~> Service['neutron-plugin-linuxbridge-agent']
    # the port the node's firewall opens on the tenant network (unset, the kernel would use 8472)
    neutron_agent_linuxbridge { 'vxlan/udp_dstport':
      value => $vxlan_port,
    }
  }
}

# Neutron's DHCP agent, in step 4: dnsmasq in a namespace per network, plugged into the linuxbridge
# agent's bridges; no metadata proxy (guests here take their address from DHCP only).
class tripleo::profile::base::neutron::dhcp (
  Integer $step = Integer($facts['tripleo_step']),
) {
  include tripleo::profile::base::neutron
  if $step == 4 {
    class { 'neutron::agents::dhcp':
      interface_driver         => 'linuxbridge',
      enable_isolated_metadata => false,
    }
  }
}

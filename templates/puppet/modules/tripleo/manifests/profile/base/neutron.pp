# What every Neutron service of a node shares, from step 4: neutron.conf's host (the same name Nova's
# compute reports, so that ports bind to it), the ML2 core plugin, the service plugins (`service_plugins`:
# none by default, no L3 agent: tenant networks are VXLAN segments between the nodes' bridges; ovn-router
# with OVN), the RabbitMQ transport URL, and the linuxbridge
# mechanism enabled (Neutron marks it experimental since Zed and refuses to start it otherwise).
class tripleo::profile::base::neutron (
  String $host,
  Integer $step = Integer($facts['tripleo_step']),
  Optional[String] $transport_url = undef,
  Boolean $debug = false,  # EnableDebug: every Neutron process of the node logs at debug level
  Array[String] $service_plugins = [],
) {
  if $step >= 4 {
    neutron_config { 'DEFAULT/debug':
      value => $debug,
    }
    class { 'neutron':
      default_transport_url => tripleo::transport_url($transport_url),
      host                  => $host,
      core_plugin           => 'ml2',
      service_plugins       => $service_plugins,
    }
    # topic queues replicated on every broker (RabbitMQ quorum queues): a broker's loss loses no queue
    neutron_config { 'oslo_messaging_rabbit/rabbit_quorum_queue':
      value => true,
    }
    neutron_config { 'experimental/linuxbridge':
      value => true,
    }
    tripleo::profile::base::init_status { ['neutron-rpc-server', 'neutron-linuxbridge-agent', 'neutron-dhcp-agent']:
      project => 'neutron',
    }
    tripleo::profile::base::init_status { 'neutron-api':
      project => 'neutron',
      pidname => 'neutron-server',
    }
  }
}

# What every Nova service of a node shares, from step 4: nova.conf's host (the same name Neutron's agents
# report, so that ports bind to it), my_ip, the RabbitMQ transport URL, the [placement] and [neutron]
# credentials (hieradata nova::placement::*, nova::network::neutron::*), and on nodes that run an API or
# the conductor the nova, nova_api (and so nova_cell0) database URLs.
class tripleo::profile::base::nova (
  String $host,
  Stdlib::IP::Address $my_ip,
  Integer $step = Integer($facts['tripleo_step']),
  Optional[String] $transport_url = undef,
  # the databases: on nodes running the API or the conductor only
  Optional[String] $database_host = undef,
  String $database_user = lookup('nova::db::mysql::user', String, 'first', 'nova'),
  Optional[String] $database_password = lookup('nova::db::mysql::password', Optional[String], 'first', undef),
  Boolean $debug = false,  # EnableDebug: every Nova process of the node logs at debug level
) {
  if $step >= 4 {
    nova_config { 'DEFAULT/debug':
      value => $debug,
    }
    class { 'nova':
      default_transport_url => tripleo::transport_url($transport_url),
      host                  => $host,
      my_ip                 => $my_ip,
    }
    # topic queues replicated on every broker (RabbitMQ quorum queues): a broker's loss loses no queue
    nova_config { 'oslo_messaging_rabbit/rabbit_quorum_queue':
      value => true,
    }
    include nova::placement
    include nova::network::neutron
    if $database_host and $database_password {
      class { 'nova::db':
        database_connection     => tripleo::database_url(undef, $database_user, $database_password, $database_host, 'nova'),
        api_database_connection => tripleo::database_url(undef, $database_user, $database_password, $database_host, 'nova_api'),
      }
    }
    # python3-pymysql comes with the node's image (see tripleo::profile::base::keystone)
    Oslo::Db <| |> {
      manage_backend_package => false,
    }
    # nova-api-metadata's own status finds any uwsgi process (keystone's, placement's) and reads as running
    # while it is stopped: each refresh of Nova's services then restarted it
    tripleo::profile::base::init_status { ['nova-api', 'nova-conductor', 'nova-scheduler', 'nova-compute', 'nova-api-metadata']:
      project => 'nova',
    }
  }
}

# Neutron's server on a controller, in step 4: its database and user on the bootstrap node's MariaDB,
# neutron.conf and the ML2 plugin (`type_drivers`, by default vxlan, flat and vlan; `mechanism_drivers`, by
# default linuxbridge and l2population; with ovn, the OVN databases of every OVNDBs node; tenant network
# types and ranges from hieradata neutron::plugins::ml2::*), `neutron-db-manage
# upgrade heads` on the bootstrap node (the other nodes wait for it before they start theirs), Nova
# notifications, and Debian's two services: neutron-api under
# uwsgi bound to one address (HAProxy binds the VIPs) and neutron-rpc-server.
class tripleo::profile::base::neutron::server (
  Stdlib::IP::Address $bind_host,
  Integer $step = Integer($facts['tripleo_step']),
  Stdlib::Port $bind_port = 9696,
  Integer[1] $workers = 1,
  String $database_host = $bind_host,
  String $database_name = lookup('neutron::db::mysql::dbname', String, 'first', 'neutron'),
  String $database_user = lookup('neutron::db::mysql::user', String, 'first', 'neutron'),
  String $database_password = lookup('neutron::db::mysql::password'),
  Boolean $manage_database = true,
  Optional[String] $bootstrap_node = lookup('neutron_api_short_bootstrap_node_name', Optional[String], 'first', undef),
  Array[String, 1] $mechanism_drivers = ['linuxbridge', 'l2population'],
  Array[String, 1] $type_drivers = ['vxlan', 'flat', 'vlan'],
  Array[Stdlib::IP::Address] $ovn_dbs_ips = lookup('ovn_dbs_node_ips', Array[String], 'first', []),
) {
  include tripleo::profile::base::neutron
  if $step == 4 {
    $is_bootstrap = tripleo::is_bootstrap($bootstrap_node)
    if $manage_database and $is_bootstrap {
      tripleo::profile::base::database::mysql::db { $database_name:
        user          => $database_user,
        password      => $database_password,
        before_anchor => 'neutron::db::begin',
        after_anchor  => 'neutron::db::end',
      }
    }
    class { 'neutron::db':
      database_connection => tripleo::database_url(
        undef, $database_user, $database_password, $database_host, $database_name,
      ),
    }
    Oslo::Db <| title == 'neutron_config' |> {
      manage_backend_package => false,
    }
    include neutron::keystone::authtoken
    class { 'neutron::plugins::ml2':
      type_drivers      => $type_drivers,
      mechanism_drivers => $mechanism_drivers,
    }
    if 'ovn' in $mechanism_drivers {
      if empty($ovn_dbs_ips) {
        fail('the ovn mechanism driver needs the OVNDBs service on some role (ovn_dbs_node_ips is empty)')
      }
      # every member of the databases (a RAFT cluster when there are several): the driver finds the leader
      class { 'neutron::plugins::ml2::ovn':
        ovn_nb_connection    => $ovn_dbs_ips.map |$ip| { "tcp:${ip}:6641" },
        ovn_sb_connection    => $ovn_dbs_ips.map |$ip| { "tcp:${ip}:6642" },
        ovn_metadata_enabled => false,
      }
    }
    # ML2/OVN does not run under uWSGI in this Neutron: Neutron's own eventlet server (API and RPC in one),
    # started by files/neutron-server.init, in place of Debian's neutron-api and neutron-rpc-server
    $eventlet = 'ovn' in $mechanism_drivers
    class { 'neutron::server':
      sync_db      => $is_bootstrap,
      api_workers  => $workers,
      rpc_workers  => $workers,
      service_name => $eventlet ? {
        true    => 'neutron-server',
        default => $::neutron::params::server_service,
      },
    }
    include neutron::server::notifications::nova
    if !$is_bootstrap {
      # every node runs step 4 at once, and the bootstrap node creates Neutron's database user and schema in
      # it: a neutron-rpc-server started before them exits ("Access denied for user 'neutron'"), so the
      # deploy ended with it dead and the next one had to start it. Wait for both schema branches at head.
      $at_head = '/usr/sbin/runuser -u neutron -- /usr/bin/neutron-db-manage --config-file /etc/neutron/neutron.conf current 2>/dev/null | grep -c "(head)" | grep -qx 2'
      exec { 'neutron database at head':
        command   => $at_head,
        unless    => $at_head,
        provider  => shell,
        tries     => 60,
        try_sleep => 5,
        require   => Anchor['neutron::config::end'],
        before    => Anchor['neutron::service::begin'],
      }
    }
    if $eventlet {
      # the neutron class writes both (from its own parameters): the node's address of its network
      Neutron_config <| title == 'DEFAULT/bind_host' |> { value => $bind_host }
      Neutron_config <| title == 'DEFAULT/bind_port' |> { value => $bind_port }
      file { '/etc/init.d/neutron-server':
        ensure  => file,
        owner   => 'root',
        group   => 'root',
        mode    => '0755',
        content => file('tripleo/neutron-server.init'),
        before  => Anchor['neutron::service::begin'],
      }
      ~> Service['neutron-server']
      # what an earlier deploy (the Linux bridge agent's) or the packages started would hold the port
      service { ['neutron-api', 'neutron-rpc-server']:
        ensure    => stopped,
        enable    => false,
        hasstatus => true,
        before    => Service['neutron-server'],
      }
    } else {
      tripleo::profile::base::uwsgi_bind { 'neutron-api':
        bind_host => $bind_host,
        bind_port => $bind_port,
        ini       => '/etc/neutron/neutron-api-uwsgi.ini',
        defaults  => 'neutron-server',
        processes => $workers,
        # an idle uwsgi worker runs no green thread: its AMQP heartbeats stopped, RabbitMQ closed the connection
        # after 60 s, and the next request waited a minute for a new one (tempest: a 60 s read timeout). The
        # heartbeat in a native thread, as oslo.messaging says for WSGI services; the eventlet services keep theirs
        env       => {'OS_OSLO_MESSAGING_RABBIT__HEARTBEAT_IN_PTHREAD' => 'true'},
        require   => Anchor['neutron::install::end'],
        before    => Anchor['neutron::service::begin'],
      }
    }
  }
}

# The controller's Nova, in step 4 (step 5 on all but the bootstrap node): the nova_api, nova_cell0 and nova databases and their user on the
# bootstrap node's MariaDB; api_db sync, cell0 mapped, cell1 created (cells v2, RabbitMQ and the nova
# database of nova.conf), db sync; nova-api under uwsgi through Debian's init script bound to one address;
# nova-conductor and nova-scheduler (which maps new compute hosts every discover_hosts_in_cells_interval).
# In step 5 the bootstrap node maps every compute host that the deploy placed (all_nodes'
# nova_compute_node_names) once it has registered, so that the overcloud can schedule onto them when the
# deploy ends.
class tripleo::profile::base::nova::api (
  Stdlib::IP::Address $bind_host,
  Integer $step = Integer($facts['tripleo_step']),
  Stdlib::Port $bind_port = 8774,
  Integer[1] $workers = 1,
  String $database_user = lookup('nova::db::mysql::user', String, 'first', 'nova'),
  String $database_password = lookup('nova::db::mysql::password'),
  Boolean $manage_database = true,
  Optional[String] $bootstrap_node = lookup('nova_api_short_bootstrap_node_name', Optional[String], 'first', undef),
  Array[String] $compute_hosts = lookup('nova_compute_node_names', Array[String], 'first', []),
  Integer $discover_timeout = 180,
) {
  include tripleo::profile::base::nova
  $is_bootstrap = tripleo::is_bootstrap($bootstrap_node)
  # The bootstrap node makes the databases and their schema in step 4; the other controllers start their
  # Nova in step 5, once it has (Ansible ends a step on every node before the next begins): nova-api loads
  # its application once, at start, and with no tables yet it answers 500 until it is restarted.
  $main_step = $is_bootstrap ? { true => 4, default => 5 }
  if $step == $main_step {
    if $manage_database and $is_bootstrap {
      ['nova_api', 'nova_cell0', 'nova'].each |$database| {
        tripleo::profile::base::database::mysql::db { $database:
          user          => $database_user,
          password      => $database_password,
          before_anchor => 'nova::db::begin',
          after_anchor  => 'nova::db::end',
        }
      }
    }
    include nova::keystone::authtoken
    if $is_bootstrap {
      include nova::cell_v2::map_cell0
      nova_cell_v2 { 'cell1':
        transport_url       => 'default',
        database_connection => 'default',
      }
      Anchor['nova::cell_v2::begin'] -> Nova_cell_v2['cell1'] -> Anchor['nova::cell_v2::end']
      Exec['nova-cell_v2-map_cell0'] -> Nova_cell_v2['cell1']
      Anchor['nova::cell_v2::end'] -> Anchor['nova::dbsync::begin']
    }
    class { 'nova::api':
      api_bind_address      => $bind_host,
      osapi_compute_workers => $workers,
      enabled_apis          => ['osapi_compute'],
      sync_db               => $is_bootstrap,
      sync_db_api           => $is_bootstrap,
    }
    # Debian's nova-api package also runs the metadata API (on every address): the guests here have no
    # cloud-init to ask it, so it stays stopped. Its boot-time enablement is left alone: Puppet's debian
    # provider cannot read it on these nodes (no sysv-rc package) and would report a change on every run
    Service <| title == 'nova-api-metadata' |> {
      ensure => 'stopped',
      enable => undef,
    }
    class { 'nova::conductor':
      workers => $workers,
    }
    class { 'nova::scheduler':
      workers => $workers,
    }
    tripleo::profile::base::uwsgi_bind { 'nova-api':
      bind_host => $bind_host,
      bind_port => $bind_port,
      ini       => '/etc/nova/nova-api-uwsgi.ini',
      processes => $workers,
      # an idle uwsgi worker runs no green thread: its AMQP heartbeats stopped, RabbitMQ closed the connection
      # after 60 s, and the next request waited a minute for a new one (tempest: a 60 s read timeout). The
      # heartbeat in a native thread, as oslo.messaging says for WSGI services; the eventlet services keep theirs
      env       => {'OS_OSLO_MESSAGING_RABBIT__HEARTBEAT_IN_PTHREAD' => 'true'},
      require   => Anchor['nova::install::end'],
      before    => Anchor['nova::service::begin'],
    }
  }
  if $step == 5 and $is_bootstrap and !empty($compute_hosts) {
    # nova-compute registers a few seconds after it starts (step 4): map each host as soon as it has
    $hosts = $compute_hosts.map |$h| { "grep -qw -- '${h}' \$f" }.join(' && ')
    exec { 'nova cell_v2 discover_hosts':
      command   => "/usr/bin/nova-manage cell_v2 discover_hosts --by-service >/dev/null && f=\$(mktemp) && /usr/bin/nova-manage cell_v2 list_hosts > \$f; ${hosts}; r=\$?; rm -f \$f; exit \$r",
      unless    => "f=\$(mktemp) && /usr/bin/nova-manage cell_v2 list_hosts > \$f; ${hosts}; r=\$?; rm -f \$f; exit \$r",
      provider  => shell,
      user      => 'nova',
      tries     => $discover_timeout / 5,
      try_sleep => 5,
    }
  }
}

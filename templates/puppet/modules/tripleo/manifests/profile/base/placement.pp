# The Placement API on a controller, in step 4 only: its database and user on the local MariaDB,
# placement.conf through puppet-placement (keystone_authtoken from hieradata placement::keystone::authtoken::*),
# `placement-manage db sync` on the bootstrap node, and placement-api under uwsgi through Debian's init
# script, bound to one address so that HAProxy can bind the VIPs on the same port. Its service user and
# catalog entries come from the deploying host after the last step.
class tripleo::profile::base::placement (
  Stdlib::IP::Address $bind_host,
  Integer $step = Integer($facts['tripleo_step']),
  Stdlib::Port $bind_port = 8778,
  Integer[1] $workers = 1,
  String $database_host = $bind_host,
  String $database_name = lookup('placement::db::mysql::dbname', String, 'first', 'placement'),
  String $database_user = lookup('placement::db::mysql::user', String, 'first', 'placement'),
  String $database_password = lookup('placement::db::mysql::password'),
  Optional[String] $database_connection = lookup('placement::db::database_connection', Optional[String], 'first', undef),
  Boolean $manage_database = true,
  Optional[String] $bootstrap_node = lookup('placement_short_bootstrap_node_name', Optional[String], 'first', undef),
  Boolean $debug = false,  # EnableDebug: placement-api logs at debug level
) {
  if $step == 4 {
    placement_config { 'DEFAULT/debug':
      value => $debug,
    }
    $is_bootstrap = tripleo::is_bootstrap($bootstrap_node)
    if $manage_database and $is_bootstrap {
      tripleo::profile::base::database::mysql::db { $database_name:
        user          => $database_user,
        password      => $database_password,
        before_anchor => 'placement::db::begin',
        after_anchor  => 'placement::db::end',
      }
    }
    class { 'placement::db':
      database_connection => tripleo::database_url(
        $database_connection, $database_user, $database_password, $database_host, $database_name,
      ),
    }
    Oslo::Db <| title == 'placement_config' |> {
      manage_backend_package => false,
    }
    include placement
    include placement::keystone::authtoken
    class { 'placement::api':
      sync_db => $is_bootstrap,
    }
    class { 'placement::wsgi::uwsgi':
      processes => $workers,
      threads   => 4,
    }
    # its init script's status finds any uwsgi (Keystone's): a stopped placement-api read as running
    tripleo::profile::base::init_status { 'placement-api':
      project => 'placement',
    }
    tripleo::profile::base::uwsgi_bind { 'placement-api':
      bind_host => $bind_host,
      bind_port => $bind_port,
      ini       => '/etc/placement/placement-api-uwsgi.ini',
      processes => $workers,
      before    => Anchor['placement::service::begin'],
      require   => Anchor['placement::install::end'],
    }
  }
}

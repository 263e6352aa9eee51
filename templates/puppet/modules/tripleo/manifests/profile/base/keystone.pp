# Keystone on a controller, in step 3 only: its database and user on the local MariaDB, keystone.conf through
# puppet-keystone (SQL identity, fernet tokens, memcached cache), the fernet and credential keys written from
# hieradata (generated once per stack: every controller gets the same keys and a re-deploy never rotates
# them), `keystone-manage db_sync` and `keystone-manage bootstrap` (admin user, project and role, the region
# and the identity endpoints) on the bootstrap node, and Keystone under uwsgi through Debian's init script,
# bound to one address (InternalApi) so that HAProxy can bind the VIPs on the same port.
#
# No keystone_* resource is used (each one runs the `openstack` CLI); the rest of the catalog is created from
# the deploying host after the last step. Only in step 3: puppet-openstack's deps classes collect every
# Openstacklib::Policy<||> of the catalog, so with Keystone still declared in step 4 the creation of Glance's
# policy.yaml would notify keystone::config::end (db_sync and a Keystone restart).
# Hieradata keys: docs/puppet-keystone-glance.md.
class tripleo::profile::base::keystone (
  Integer $step = Integer($facts['tripleo_step']),
  Stdlib::IP::Address $bind_host,
  Stdlib::Port $bind_port = 5000,
  Integer[1] $workers = 2,
  Integer[1] $threads = 16,
  # the database: on the InternalApi VIP (HAProxy) or the controller's own address
  String $database_host = $bind_host,
  String $database_name = lookup('keystone::db::mysql::dbname', String, 'first', 'keystone'),
  String $database_user = lookup('keystone::db::mysql::user', String, 'first', 'keystone'),
  String $database_password = lookup('keystone::db::mysql::password'),
  Optional[String] $database_connection = lookup('keystone::db::database_connection', Optional[String], 'first', undef),
  Boolean $manage_database = true,
  # {"/etc/keystone/fernet-keys/0": {"content": "..."}, ...} as in tripleo-heat-templates
  Hash[Stdlib::Absolutepath, Hash] $fernet_keys = lookup('keystone::fernet_keys'),
  Hash[Stdlib::Absolutepath, Hash] $credential_keys = lookup('keystone::credential_keys'),
  # every memcached of the overcloud (all_nodes hieradata), unless given
  Array[String] $memcache_servers = lookup('keystone::cache::memcache_servers', Array[String], 'first',
    lookup('memcached_node_ips', Array[String], 'first', []).map |$ip| { "${ip}:11211" }),
  # keystone-manage bootstrap
  String $admin_password = lookup('keystone::admin_password'),
  String $admin_user = 'admin',
  String $admin_project = 'admin',
  String $admin_role = 'admin',
  String $service_name = 'keystone',
  String $region = lookup('keystone::bootstrap::region', String, 'first', 'RegionOne'),
  String $public_url = lookup('keystone::bootstrap::public_url', String, 'first', "http://${bind_host}:${bind_port}"),
  String $internal_url = lookup('keystone::bootstrap::internal_url', String, 'first', $public_url),
  String $admin_url = lookup('keystone::bootstrap::admin_url', String, 'first', $internal_url),
  # db_sync and bootstrap run on this node only (every node when unset)
  Optional[String] $bootstrap_node = lookup('keystone_short_bootstrap_node_name', Optional[String], 'first', undef),
) {
  # step 6: a config container's run (container-puppet), every step's config at once
  if $step == 3 or $step > 5 {
    $is_bootstrap = tripleo::is_bootstrap($bootstrap_node)
    $connection = tripleo::database_url(
      $database_connection, $database_user, $database_password, $database_host, $database_name,
    )

    # the database lives on the bootstrap node's MariaDB (one primary: tripleo::profile::base::database::mysql)
    if $manage_database and $is_bootstrap {
      tripleo::profile::base::database::mysql::db { $database_name:
        user          => $database_user,
        password      => $database_password,
        before_anchor => 'keystone::db::begin',
        after_anchor  => 'keystone::db::end',
      }
    }

    class { 'keystone::db':
      database_connection => $connection,
    }
    # python3-pymysql comes with the node's image: without this, oslo::db requires puppetlabs-mysql's
    # mysql::bindings (one more module, and a package check for python3-mysqldb)
    Oslo::Db <| title == 'keystone_config' |> {
      manage_backend_package => false,
    }
    class { 'keystone':
      service_name            => 'keystone',
      token_provider          => 'fernet',
      sync_db                 => $is_bootstrap,
      enable_fernet_setup     => true,
      fernet_keys             => $fernet_keys,
      fernet_replace_keys     => true,
      enable_credential_setup => true,
      credential_keys         => $credential_keys,
      manage_policyrcd        => false,
    }
    if !empty($memcache_servers) {
      class { 'keystone::cache':
        enabled          => true,
        backend          => 'oslo_cache.memcache_pool',
        memcache_servers => $memcache_servers,
        # a memcached that died is tried again after 30 s (300 by default), and waited for 1 s at most
        memcache_dead_retry     => 30,
        memcache_socket_timeout => 1,
      }
    }

    # uwsgi: few workers; no AppArmor plugin (uwsgi exits with aa_change_profile() on kernels without it)
    class { 'keystone::wsgi::uwsgi':
      processes => $workers,
      threads   => $threads,
    }
    keystone_uwsgi_config {
      'uwsgi/plugins':          value  => 'python3';
      'uwsgi/apparmor-profile': ensure => absent;
    }
    # /etc/init.d/keystone binds `--http-socket :5000` (every address) and reads /etc/default/keystone after
    # building its arguments: replace them there with the one address
    tripleo::profile::base::init_status { 'keystone':
      project => 'keystone',
    }
    tripleo::profile::base::uwsgi_bind { 'keystone':
      bind_host => $bind_host,
      bind_port => $bind_port,
      ini       => '/etc/keystone/keystone-uwsgi.ini',
      require   => Anchor['keystone::install::end'],
      notify    => Anchor['keystone::service::begin'],
    }

    if $is_bootstrap {
      # the bootstrap's settings in a root-only file; bootstrap runs again only when they change (it then
      # updates the admin password and the endpoints in place)
      $env = '/root/.tripleo-keystone-bootstrap'
      file { $env:
        ensure    => file,
        mode      => '0600',
        show_diff => false,
        content   => epp('tripleo/keystone-bootstrap.epp', {
          'settings' => {
            'OS_BOOTSTRAP_USERNAME'     => $admin_user,
            'OS_BOOTSTRAP_PASSWORD'     => $admin_password,
            'OS_BOOTSTRAP_PROJECT_NAME' => $admin_project,
            'OS_BOOTSTRAP_ROLE_NAME'    => $admin_role,
            'OS_BOOTSTRAP_SERVICE_NAME' => $service_name,
            'OS_BOOTSTRAP_REGION_ID'    => $region,
            'OS_BOOTSTRAP_PUBLIC_URL'   => $public_url,
            'OS_BOOTSTRAP_INTERNAL_URL' => $internal_url,
            'OS_BOOTSTRAP_ADMIN_URL'    => $admin_url,
          },
        }),
      }
      exec { 'keystone-manage bootstrap':
        command  => "set -a && . ${env} && /usr/sbin/runuser -u keystone -- /usr/bin/keystone-manage bootstrap && cp ${env} ${env}.applied",
        unless   => "/usr/bin/cmp -s ${env} ${env}.applied",
        provider => shell,
        require  => [File[$env], Anchor['keystone::dbsync::end']],
      }
      File <| tag == 'keystone-fernet-key' |> -> Exec['keystone-manage bootstrap']
    }
  }
}

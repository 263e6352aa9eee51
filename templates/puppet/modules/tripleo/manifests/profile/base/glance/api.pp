# Glance API on a controller, in step 4 only (Keystone runs since step 3): its database and user on the local
# MariaDB, glance-api.conf through puppet-glance (one store: Swift as the glance service user, containers
# made on first put, or a file store on the controller's disk; keystone_authtoken
# from hieradata glance::api::authtoken::*), `glance-manage db_sync` on the bootstrap node, and glance-api
# through Debian's init script, bound to one address (InternalApi). Glance's service user and catalog entries
# come later, from the deploying host: keystonemiddleware only authenticates on the first request.
# Hieradata keys: docs/puppet-keystone-glance.md.
class tripleo::profile::base::glance::api (
  Integer $step = Integer($facts['tripleo_step']),
  Stdlib::IP::Address $bind_host,
  Stdlib::Port $bind_port = 9292,
  Integer[1] $workers = 2,
  String $database_host = $bind_host,
  String $database_name = lookup('glance::db::mysql::dbname', String, 'first', 'glance'),
  String $database_user = lookup('glance::db::mysql::user', String, 'first', 'glance'),
  String $database_password = lookup('glance::db::mysql::password'),
  Optional[String] $database_connection = lookup('glance::api::db::database_connection', Optional[String], 'first', undef),
  Boolean $manage_database = true,
  Stdlib::Absolutepath $images_dir = '/var/lib/glance/images',
  Enum['swift', 'file'] $backend = 'file',
  # Keystone for the Swift store (internal endpoint; the store authenticates as service:glance)
  Optional[String] $keystone_url = undef,
  # `glance-manage db_load_metadefs` (Horizon's metadata definitions) costs a few seconds: off by default
  Boolean $load_metadefs = false,
  # db_sync runs on this node only (every node when unset)
  Optional[String] $bootstrap_node = lookup('glance_api_short_bootstrap_node_name', Optional[String], 'first', undef),
  Boolean $debug = false,  # EnableDebug: glance-api logs at debug level
) {
  # step 6: a config container's run (container-puppet), every step's config at once
  if $step == 4 or $step > 5 {
    glance_api_config { 'DEFAULT/debug':
      value => $debug,
    }
    $is_bootstrap = tripleo::is_bootstrap($bootstrap_node)
    $connection = tripleo::database_url(
      $database_connection, $database_user, $database_password, $database_host, $database_name,
    )

    # the database lives on the bootstrap node's MariaDB (one primary: tripleo::profile::base::database::mysql)
    if $manage_database and $is_bootstrap {
      tripleo::profile::base::database::mysql::db { $database_name:
        user          => $database_user,
        password      => $database_password,
        before_anchor => 'glance::db::begin',
        after_anchor  => 'glance::db::end',
      }
    }

    # declared before glance::api, which includes it
    class { 'glance::api::db':
      database_connection => $connection,
    }
    # python3-pymysql comes with the node's image (see tripleo::profile::base::keystone)
    Oslo::Db <| title == 'glance_api_config' |> {
      manage_backend_package => false,
    }
    class { 'glance::api':
      bind_host        => $bind_host,
      bind_port        => $bind_port,
      workers          => $workers,
      enabled_backends => ["default_backend:${backend}"],
      default_backend  => 'default_backend',
      sync_db          => false,
    }
    tripleo::profile::base::init_status { 'glance-api':
      project => 'glance',
    }
    if $backend == 'swift' {
      glance::backend::multistore::swift { 'default_backend':
        swift_store_user                    => 'service:glance',
        swift_store_key                     => lookup('glance::api::authtoken::password'),
        swift_store_auth_address            => "${keystone_url}/v3",
        swift_store_create_container_on_put => true,
        swift_store_endpoint_type           => 'internalURL',
      }
    } else {
      glance::backend::multistore::file { 'default_backend':
        filesystem_store_datadir => $images_dir,
      }
    }
    file { $images_dir:
      ensure  => directory,
      owner   => 'glance',
      group   => 'glance',
      mode    => '0750',
      require => Anchor['glance::install::end'],
      before  => Anchor['glance::service::begin'],
    }
    if $is_bootstrap {
      include glance::db::sync
      if $load_metadefs {
        include glance::db::metadefs
      }
    }
  }
}

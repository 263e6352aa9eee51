# A service's database and its user on the local MariaDB (root's unix socket), for the profiles of services
# that keep their data there. The SQL is a 0600 file (passwords never reach a command line or Puppet's log),
# applied again only when it changes: its `.applied` copy is written after success, so a failed run is
# retried by the next one. `before_anchor` / `after_anchor` order it inside the service's own chain (e.g.
# puppet-keystone's keystone::db::begin and ::end: db_sync follows a change).
define tripleo::profile::base::database::mysql::db (
  String $user,
  String $password,
  String $before_anchor,
  String $after_anchor,
  String $database = $title,
) {
  $sql = "/root/.tripleo-${database}-db.sql"
  file { $sql:
    ensure    => file,
    mode      => '0600',
    show_diff => false,
    content   => epp('tripleo/database.sql.epp', {
      'database' => $database,
      'user'     => $user,
      'password' => $password,
    }),
  }
  exec { "${database} database and user":
    command  => "/usr/bin/mariadb < ${sql} && cp ${sql} ${sql}.applied",
    unless   => "/usr/bin/cmp -s ${sql} ${sql}.applied",
    provider => shell,
    require  => [File[$sql], Anchor[$before_anchor]],
    notify   => Anchor[$after_anchor],
  }
  Service <| title == 'mariadb' |> -> Exec["${database} database and user"]
}

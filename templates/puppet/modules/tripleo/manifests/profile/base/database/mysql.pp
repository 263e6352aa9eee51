# MariaDB on the node's address of its network (role_data), never on External, from step 2: a Galera cluster
# of every node running it (all_nodes' mysql_node_ips), or a one-node Galera when there is one
# (`gcomm://`: every start forms it). The first deploy bootstraps the cluster on the bootstrap node
# (Debian's `/etc/init.d/mariadb bootstrap`), only while its data has never been in a cluster (no uuid in
# grastate.dat) or when the undercloud chose it after a full outage (fact tripleo_galera_bootstrap); every
# other node waits until a member answers its clustercheck, then starts and joins by state transfer (rsync,
# on the node's address). A running cluster is never bootstrapped again, and a config change restarts a
# clustered MariaDB only through a deploy's own rolling restart (never all members at once).
# The clustercheck (tripleo::profile::base::database::clustercheck) answers HAProxy on port 9200. The
# clustercheck user is kept at its generated password; the SQL file is 0600 and its contents never reach
# Puppet's log. Services create their own databases in their steps (DDL replicates).
class tripleo::profile::base::database::mysql (
  String $bind_ip,
  String $clustercheck_password,
  Integer $step = Integer($facts['tripleo_step']),
  Boolean $galera = true,
  String $cluster_name = lookup('tripleo::cloud_name', String, 'first', 'overcloud'),
  Array[String] $node_ips = lookup('mysql_node_ips', Array[String], 'first', []),
  Optional[String] $bootstrap_node = lookup('mysql_short_bootstrap_node_name', Optional[String], 'first', undef),
  Optional[String] $recover_from = $facts['tripleo_galera_bootstrap'],
  String $sst_method = 'rsync',
  String $gcache_size = '64M',
  String $innodb_buffer_pool_size = '64M',
  Integer $startup_timeout = 600,
) {
  if $step >= 2 {
    package { 'mariadb-server':
      ensure => installed,
    }
    $members = $node_ips.length
    $clustered = $galera and $members > 1
    $base = "# managed by tripleo (puppet)\n[mysqld]\nuser = mysql\nbind-address = ${bind_ip}\nskip-name-resolve\ncharacter-set-server = utf8mb3\ncollation-server = utf8mb3_general_ci\ninnodb_buffer_pool_size = ${innodb_buffer_pool_size}\n"
    $wsrep = $galera ? {
      false   => '',
      default => epp('tripleo/galera.cnf.epp', {
        'bind_ip'      => $bind_ip,
        'cluster_name' => $cluster_name,
        'peers'        => $clustered ? { true => $node_ips, default => [] },
        'node_name'    => $facts['networking']['hostname'],
        'sst_method'   => $sst_method,
        'gcache_size'  => $gcache_size,
      }),
    }
    file { '/etc/default/mariadb':
      ensure  => file,
      mode    => '0644',
      # a joiner answers only once its state transfer is done: the init script waits that long
      content => "# managed by tripleo (puppet)\nMYSQLD_STARTUP_TIMEOUT=${startup_timeout}\n",
    }
    file { '/etc/mysql/mariadb.conf.d/90-tripleo.cnf':
      ensure  => file,
      mode    => '0644',
      content => "${base}${wsrep}",
      require => Package['mariadb-server'],
      before  => Service['mariadb'],
    }
    if !$clustered {
      File['/etc/mysql/mariadb.conf.d/90-tripleo.cnf'] ~> Service['mariadb']
    } else {
      $own = downcase($facts['networking']['hostname'])
      $starter = $recover_from ? {
        undef   => $bootstrap_node,
        ''      => $bootstrap_node,
        default => $recover_from,
      }
      $grastate = '/var/lib/mysql/grastate.dat'
      if $starter and downcase($starter) == $own {
        # a new cluster starts here: on data that never was in one, or on the node the undercloud chose
        $never = "! grep -Eqs '^uuid:[[:space:]]*[0-9a-f-]*[1-9a-f]' ${grastate}"
        $chosen = $recover_from != undef and $recover_from != ''
        exec { 'tripleo galera bootstrap':
          command  => $chosen ? {
            true    => "sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' ${grastate} && /etc/init.d/mariadb bootstrap",
            default => '/etc/init.d/mariadb bootstrap',
          },
          onlyif   => $chosen ? { true => '/bin/true', default => $never },
          unless   => '/etc/init.d/mariadb status',
          provider => shell,
          timeout  => $startup_timeout + 60,
          require  => File['/etc/mysql/mariadb.conf.d/90-tripleo.cnf', '/etc/default/mariadb'],
          before   => Service['mariadb'],
        }
      } else {
        $peers = $node_ips.filter |$ip| { $ip != $bind_ip }.join(' ')
        exec { 'tripleo galera waits for a synced member':
          command   => "for ip in ${peers}; do curl -sf -m 2 http://\$ip:9200/ >/dev/null && exit 0; done; exit 1",
          unless    => '/etc/init.d/mariadb status',
          provider  => shell,
          tries     => 120,
          try_sleep => 5,
          require   => File['/etc/mysql/mariadb.conf.d/90-tripleo.cnf', '/etc/default/mariadb'],
          before    => Service['mariadb'],
        }
      }
    }
    service { 'mariadb':
      ensure    => running,
      hasstatus => true,
      require   => File['/etc/default/mariadb'],
    }
    if $galera {
      class { 'tripleo::profile::base::database::clustercheck':
        bind_ip => $bind_ip,
        require => Service['mariadb'],
      }
      # a joiner answers pings before its state transfer is over: the node is ready once it is Synced
      exec { 'tripleo galera member is synced':
        command   => "curl -sf -m 2 http://${bind_ip}:9200/ >/dev/null",
        unless    => "curl -sf -m 2 http://${bind_ip}:9200/ >/dev/null",
        provider  => shell,
        tries     => 120,
        try_sleep => 2,
        require   => Class['tripleo::profile::base::database::clustercheck'],
        before    => Exec['tripleo clustercheck user'],
      }
    }
    file { '/root/.tripleo-clustercheck.sql':
      ensure    => file,
      mode      => '0600',
      show_diff => false,
      content   => @("SQL"),
        CREATE USER IF NOT EXISTS 'clustercheck'@'%' IDENTIFIED BY '${clustercheck_password}';
        ALTER USER 'clustercheck'@'%' IDENTIFIED BY '${clustercheck_password}';
        | SQL
    }
    exec { 'tripleo clustercheck user':
      command     => '/usr/bin/mariadb < /root/.tripleo-clustercheck.sql',
      provider    => shell,
      logoutput   => false, # a failed statement is echoed with its password
      subscribe   => File['/root/.tripleo-clustercheck.sql'],
      require     => Service['mariadb'],
      refreshonly => true,
    }
  }
}

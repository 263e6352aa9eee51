# MariaDB on the node's address of its network (role_data), never on External. Step 2 configures and starts
# it through Debian's init script (the datadir comes initialised with the image) and keeps the clustercheck
# user (health checks through the VIP) at its generated password; the SQL file is 0600 and its contents
# never reach Puppet's log. Services create their own databases in their steps.
class tripleo::profile::base::database::mysql (
  String $bind_ip,
  String $clustercheck_password,
  Integer $step = Integer($facts['tripleo_step']),
) {
  if $step >= 2 {
    package { 'mariadb-server':
      ensure => installed,
    }
    file { '/etc/mysql/mariadb.conf.d/90-tripleo.cnf':
      ensure  => file,
      mode    => '0644',
      content => "# managed by tripleo (puppet)\n[mysqld]\nuser = mysql\nbind-address = ${bind_ip}\nskip-name-resolve\ncharacter-set-server = utf8mb3\ncollation-server = utf8mb3_general_ci\n",
      require => Package['mariadb-server'],
      notify  => Service['mariadb'],
    }
    service { 'mariadb':
      ensure    => running,
      hasstatus => true,
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
      subscribe   => File['/root/.tripleo-clustercheck.sql'],
      require     => Service['mariadb'],
      refreshonly => true,
    }
  }
}

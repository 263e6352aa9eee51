# MariaDB on the node's address of its network (services.yaml: InternalApi) - never on External. Step 2
# configures and starts it through Debian's init script (the datadir comes initialised with the image);
# step 3 creates the overcloud's database and its user from hieradata (the SQL file is 0600 and its
# contents never reach Puppet's log).
class tripleo::profile::mysql (
  Integer $step,
  String $bind_ip = lookup('tripleo::service_ips')['mysql'],
  String $database = lookup('tripleo::profile::mysql::database', String, 'first', 'tripleo'),
  String $user = lookup('tripleo::profile::mysql::user', String, 'first', 'tripleo'),
  String $password = lookup('tripleo::profile::mysql::password'),
) {
  if $step >= 2 {
    package { 'mariadb-server':
      ensure => installed,
    }
    file { '/etc/mysql/mariadb.conf.d/90-tripleo.cnf':
      ensure  => file,
      mode    => '0644',
      content => "# managed by tripleo (puppet)\n[mysqld]\nuser = mysql\nbind-address = ${bind_ip}\nskip-name-resolve\n",
      require => Package['mariadb-server'],
      notify  => Service['mariadb'],
    }
    service { 'mariadb':
      ensure    => running,
      hasstatus => true,
    }
  }
  if $step >= 3 {
    file { '/root/.tripleo-mysql.sql':
      ensure    => file,
      mode      => '0600',
      show_diff => false,
      content   => @("SQL"),
        CREATE DATABASE IF NOT EXISTS `${database}`;
        CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY '${password}';
        ALTER USER '${user}'@'%' IDENTIFIED BY '${password}';
        GRANT ALL PRIVILEGES ON `${database}`.* TO '${user}'@'%';
        | SQL
    }
    exec { 'tripleo database and user':
      command     => '/usr/bin/mariadb < /root/.tripleo-mysql.sql',
      provider    => shell,
      subscribe   => File['/root/.tripleo-mysql.sql'],
      refreshonly => true,
    }
  }
}

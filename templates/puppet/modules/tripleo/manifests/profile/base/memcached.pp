# memcached on the node's address of its network (role_data: %{lookup('<network>')}), started in step 2
# through Debian's init script (lab nodes have no systemd; Puppet picks its `debian` service provider). The
# package comes with the node's image: `installed` only checks it.
class tripleo::profile::base::memcached (
  String $bind_ip,
  Integer $step = Integer($facts['tripleo_step']),
  Integer $memory_mb = 64,
  Integer $port = 11211,
) {
  if $step >= 2 {
    package { 'memcached':
      ensure => installed,
    }
    file { '/etc/memcached.conf':
      ensure  => file,
      mode    => '0644',
      content => epp('tripleo/memcached.conf.epp', {
        'bind_ip'   => $bind_ip,
        'memory_mb' => $memory_mb,
        'port'      => $port,
      }),
      require => Package['memcached'],
      notify  => Service['memcached'],
    }
    service { 'memcached':
      ensure    => running,
      hasstatus => true,
    }
  }
}

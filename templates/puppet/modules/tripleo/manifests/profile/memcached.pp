# memcached on the node's address of its network (services.yaml: InternalApi), started in step 2 through
# Debian's init script (lab nodes have no systemd; Puppet picks its `debian` service provider). The package
# comes with the node's image: `installed` only checks it.
class tripleo::profile::memcached (
  Integer $step,
  String $bind_ip = lookup('tripleo::service_ips')['memcached'],
  Integer $memory_mb = lookup('tripleo::profile::memcached::memory_mb', Integer, 'first', 64),
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

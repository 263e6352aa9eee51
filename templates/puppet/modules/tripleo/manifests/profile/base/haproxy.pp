# HAProxy on the VIPs (step 2): every frontend the services declare in their role_data (config download
# gathers them into `listeners`, each with the nodes running that service as servers). `transparent` lets
# a node that does not hold a VIP bind it anyway.
class tripleo::profile::base::haproxy (
  Integer $step = Integer($facts['tripleo_step']),
  Array[Hash] $listeners = [],
) {
  if $step >= 2 {
    package { 'haproxy':
      ensure => installed,
    }
    file { '/etc/haproxy/haproxy.cfg':
      ensure  => file,
      mode    => '0644',
      content => epp('tripleo/haproxy.cfg.epp', { 'listeners' => $listeners }),
      require => Package['haproxy'],
      notify  => Service['haproxy'],
    }
    service { 'haproxy':
      ensure    => running,
      hasstatus => true,
    }
  }
}

# HAProxy in front of the controllers' services, listening on the VIPs (step 3, once the services behind it
# run). `transparent` lets a controller that does not hold a VIP bind it anyway.
class tripleo::profile::haproxy (
  Integer $step,
  Hash $vips = lookup('tripleo::vips', Hash, 'first', {}),
  Array[Hash] $backends = lookup('tripleo::haproxy::backends', Array[Hash], 'first', []),
) {
  if $step >= 3 {
    package { 'haproxy':
      ensure => installed,
    }
    file { '/etc/haproxy/haproxy.cfg':
      ensure  => file,
      mode    => '0644',
      content => epp('tripleo/haproxy.cfg.epp', { 'vips' => $vips, 'backends' => $backends }),
      require => Package['haproxy'],
      notify  => Service['haproxy'],
    }
    service { 'haproxy':
      ensure    => running,
      hasstatus => true,
    }
  }
}

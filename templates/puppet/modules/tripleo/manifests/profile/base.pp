# Every node: /etc/hosts entries for every overcloud node on every network, a login banner naming the
# node's role, and the kernel settings of the templates in /etc/sysctl.d, applied when they change (step 1).
class tripleo::profile::base (
  Integer $step = Integer($facts['tripleo_step']),
  String $hostname = lookup('tripleo::hostname'),
  String $role = lookup('tripleo::role'),
  Array[String] $host_entries = lookup('tripleo::hosts_entries', Array[String], 'first', []),
  String $cloud_name = lookup('tripleo::cloud_name', String, 'first', 'overcloud'),
  Hash[Pattern[/\A[a-z0-9_.\-]+\z/], Variant[String, Integer]] $sysctls = {},
) {
  if $step >= 1 {
    $hosts = join(['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback'] + $host_entries, "\n")
    file { '/etc/hosts':
      ensure  => file,
      mode    => '0644',
      content => "# managed by tripleo (puppet)\n${hosts}\n",
    }
    file { '/etc/motd':
      ensure  => file,
      mode    => '0644',
      content => "${hostname}: ${role} of ${cloud_name}, deployed by tripleo\n",
    }
    $lines = $sysctls.keys.sort.map |$key| { "${key} = ${sysctls[$key]}" }
    file { '/etc/sysctl.d/90-tripleo.conf':
      ensure  => file,
      mode    => '0644',
      content => "# managed by tripleo (puppet)\n${lines.join("\n")}\n",
    }
    ~> exec { 'sysctl -p /etc/sysctl.d/90-tripleo.conf':
      command     => '/sbin/sysctl -q -p /etc/sysctl.d/90-tripleo.conf',
      refreshonly => true,
    }
  }
}

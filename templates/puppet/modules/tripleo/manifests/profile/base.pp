# Every node: /etc/hosts entries for every overcloud node on every network and a login banner naming the
# node's role (step 1).
class tripleo::profile::base (
  Integer $step = Integer($facts['tripleo_step']),
  String $hostname = lookup('tripleo::hostname'),
  String $role = lookup('tripleo::role'),
  Array[String] $host_entries = lookup('tripleo::hosts_entries', Array[String], 'first', []),
  String $cloud_name = lookup('tripleo::cloud_name', String, 'first', 'overcloud'),
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
  }
}

# What every Swift node shares: swift.conf (the placement salt, one storage policy), the directories Swift's
# daemons own, and the rings the undercloud built (hieradata from all_nodes, base64 of each
# <ring>.ring.gz: tripleo.config.rings). Included by the proxy and the storage profiles.
class tripleo::profile::base::swift (
  String $hash_path_suffix,
  Hash[String, String] $rings = {},
) {
  file { ['/etc/swift', '/var/lib/swift', '/var/cache/swift', '/var/log/swift']:
    ensure => directory,
    owner  => 'swift',
    group  => 'swift',
    mode   => '0750',
  }
  file { '/etc/swift/swift.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'swift',
    mode    => '0640',
    content => "# managed by tripleo (puppet)\n[swift-hash]\nswift_hash_path_suffix = ${hash_path_suffix}\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n",
  }
  $rings.each |String $name, String $data| {
    file { "/etc/swift/${name}.ring.gz":
      ensure  => file,
      owner   => 'root',
      group   => 'swift',
      mode    => '0644',
      content => Binary.new($data),
    }
  }
}

# Swift's account, container and object servers (step 3, before the proxies of step 4), their replicators
# and updaters, and the rsync daemon the replicators copy through, all bound to the node's storage address.
# Devices live under $devices_root: a directory ($local_dir, the lab's) and whole disks ($raw_disks, formatted
# XFS once and mounted there). Auditors, the reaper, the expirer and the sharder are not run (a small cloud's
# choice: say so before enabling them).
class tripleo::profile::base::swift::storage (
  Integer $step = Integer($facts['tripleo_step']),
  Stdlib::IP::Address $bind_host,
  Integer[0] $workers = 1,
  String $local_dir = 'd1',
  Hash[String, Hash] $raw_disks = {},
  Boolean $mount_check = false,
  Stdlib::Absolutepath $devices_root = '/srv/node',
  Hash[String, Stdlib::Port] $ports = { 'account' => 6202, 'container' => 6201, 'object' => 6200 },
  Hash[String, Array[String]] $daemons = {
    'account' => ['replicator'], 'container' => ['replicator', 'updater'], 'object' => ['replicator', 'updater'],
  },
) {
  if $step >= 3 {
    include tripleo::profile::base::swift
    file { $devices_root:
      ensure => directory,
      owner  => 'swift',
      group  => 'swift',
      mode   => '0750',
    }
    if $local_dir != '' {
      file { "${devices_root}/${local_dir}":
        ensure => directory,
        owner  => 'swift',
        group  => 'swift',
        mode   => '0750',
      }
    }
    $raw_disks.each |String $disk, Hash $options| {
      tripleo::profile::base::swift::disk { $disk:
        devices_root => $devices_root,
      }
    }
    file { '/etc/swift/rsyncd.conf':
      ensure  => file,
      mode    => '0644',
      content => epp('tripleo/swift-rsyncd.conf.epp', {
        'bind_host' => $bind_host, 'devices_root' => $devices_root, 'modules' => keys($ports),
      }),
    }
    tripleo::profile::base::swift::daemon { 'rsync':
      command      => '/usr/bin/rsync --daemon --no-detach --config=/etc/swift/rsyncd.conf',
      config_files => ['/etc/swift/rsyncd.conf'],
      user         => 'root',
    }
    $ports.each |String $kind, Stdlib::Port $port| {
      $conf = "/etc/swift/${kind}-server.conf"
      file { $conf:
        ensure  => file,
        owner   => 'root',
        group   => 'swift',
        mode    => '0640',
        content => epp('tripleo/swift-server.conf.epp', {
          'kind' => $kind, 'bind_host' => $bind_host, 'port' => $port, 'workers' => $workers,
          'devices_root' => $devices_root, 'mount_check' => $mount_check,
        }),
      }
      tripleo::profile::base::swift::daemon { "${kind}-server":
        command      => "/usr/bin/swift-${kind}-server ${conf} -v",
        config_files => [$conf],
      }
      $daemons.get($kind, []).each |String $daemon| {
        tripleo::profile::base::swift::daemon { "${kind}-${daemon}":
          command      => "/usr/bin/swift-${kind}-${daemon} ${conf} -v",
          config_files => [$conf],
        }
      }
    }
  }
}

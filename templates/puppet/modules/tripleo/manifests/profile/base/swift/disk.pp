# A whole disk of a storage node as a Swift device: formatted XFS once (a disk that already has a file
# system is left as it is) and mounted at <devices_root>/<title> by its fstab line.
define tripleo::profile::base::swift::disk (
  Stdlib::Absolutepath $devices_root,
) {
  $device = "/dev/${title}"
  $mountpoint = "${devices_root}/${title}"
  exec { "mkfs.xfs ${device}":
    command => "/sbin/mkfs.xfs -i size=1024 -f ${device}",
    unless  => "/sbin/blkid ${device}",
  }
  -> file { $mountpoint:
    ensure => directory,
  }
  -> mount { $mountpoint:
    ensure  => mounted,
    device  => $device,
    fstype  => 'xfs',
    options => 'noatime,nodiratime,logbufs=8',
  }
  -> exec { "chown swift ${mountpoint}":
    command => "/bin/chown swift:swift ${mountpoint}",
    unless  => "/usr/bin/test \"$(/usr/bin/stat -c %U ${mountpoint})\" = swift",
  }
}

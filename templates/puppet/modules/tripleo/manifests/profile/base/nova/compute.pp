# nova-compute on a compute node, in step 4, with its virt driver. libvirt: qemu.conf and libvirtd.conf
# written here (guests run as root, no security driver, no cgroup controllers: a lab node has no systemd
# and its own sysfs), virtlogd and libvirtd through Debian's init scripts, then nova-compute with
# `virt_type` kvm (real hosts) or qemu (plain emulation). fake.FakeDriver: no libvirt at all. The driver is
# written to nova-compute.conf as well, which Debian's init script reads after nova.conf.
class tripleo::profile::base::nova::compute (
  Integer $step = Integer($facts['tripleo_step']),
  Enum['libvirt.LibvirtDriver', 'fake.FakeDriver'] $driver = 'libvirt.LibvirtDriver',
  Enum['kvm', 'qemu'] $virt_type = 'kvm',
) {
  include tripleo::profile::base::nova
  if $step == 4 {
    class { 'nova::compute':
      vnc_enabled => false,
    }
    if $driver == 'libvirt.LibvirtDriver' {
      class { 'nova::compute::libvirt':
        virt_type               => $virt_type,
        manage_libvirt_services => false,
      }
      # puppet-nova wants Debian's nova-compute-<virt_type>; nova-compute-qemu pulls every qemu-system-*
      # architecture, so the node's image has nova-compute-kvm (the driver sets virt_type either way)
      Package <| title == "nova-compute-${virt_type}" |> {
        name => 'nova-compute-kvm',
      }
      # ... whose /etc/nova/nova-compute.conf says virt_type=kvm, read after nova.conf by the init script
      ini_setting { 'nova-compute.conf libvirt/virt_type':
        ensure  => present,
        path    => '/etc/nova/nova-compute.conf',
        section => 'libvirt',
        setting => 'virt_type',
        value   => $virt_type,
        require => Anchor['nova::config::begin'],
        notify  => Anchor['nova::config::end'],
      }
      file { '/etc/libvirt/qemu.conf':
        ensure  => file,
        mode    => '0600',
        content => epp('tripleo/libvirt-qemu.conf.epp'),
        notify  => Service['libvirtd'],
      }
      file { '/etc/libvirt/libvirtd.conf':
        ensure  => file,
        mode    => '0644',
        content => epp('tripleo/libvirtd.conf.epp'),
        notify  => Service['libvirtd'],
      }
      service { 'virtlogd':
        ensure    => running,
        hasstatus => true,
      }
      service { 'libvirtd':
        ensure    => running,
        hasstatus => true,
        require   => Service['virtlogd'],
        before    => Anchor['nova::service::begin'],
      }
    } else {
      nova_config { 'DEFAULT/compute_driver':
        value => $driver,
      }
    }
    # Debian's /etc/nova/nova-compute.conf (nova-compute-kvm's) says compute_driver=libvirt.LibvirtDriver and
    # is read after nova.conf: the driver there too, or the fake driver's compute would run libvirt's and
    # never register (it waits for a libvirtd nobody starts)
    ini_setting { 'nova-compute.conf DEFAULT/compute_driver':
      ensure  => present,
      path    => '/etc/nova/nova-compute.conf',
      section => 'DEFAULT',
      setting => 'compute_driver',
      value   => $driver,
      require => Anchor['nova::config::begin'],
      notify  => Anchor['nova::config::end'],
    }
  }
}

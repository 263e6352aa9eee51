# A node's OVN chassis, in step 4: Open vSwitch (Debian's openvswitch-switch init script, with the options
# of /etc/default/openvswitch-switch), the integration bridge br-int, the chassis' settings in the switch's
# database (external_ids: the southbound databases to follow, the tunnel endpoint `encap_ip` on the node's
# tenant network, its name as Nova and Neutron know it, the bridges' datapath, `cms_options`
# enable-chassis-as-gw on a gateway), the switch's manager on 127.0.0.1:6640 (os-vif plugs Nova's ports
# through it), then ovn-controller (ovn-ctl, options of /etc/default/ovn-host).
# `datapath_type` netdev is Open vSwitch's userspace datapath, for a kernel without the openvswitch module
# (the lab's): ovs-vswitchd then never asks for a kernel datapath (--disable-system) and every bridge is
# made netdev. A node whose init is not systemd (a lab node) has no ovn-host init script in Debian: it gets
# files/ovn-host.init.
class tripleo::profile::base::neutron::ovn_controller (
  Stdlib::IP::Address $encap_ip,
  String $hostname,
  Integer $step = Integer($facts['tripleo_step']),
  Array[Stdlib::IP::Address] $sb_ips = lookup('ovn_dbs_node_ips', Array[String], 'first', []),
  Stdlib::Port $sb_port = 6642,
  Enum['system', 'netdev'] $datapath_type = 'system',
  String $cms_options = '',
  Variant[String, Array[String]] $bridge_mappings = [],
) {
  if $step >= 4 {
    $vswitchd = $datapath_type ? {
      'netdev' => ' --ovs-vswitchd-options=--disable-system',
      default  => '',
    }
    file { '/etc/default/openvswitch-switch':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      content => "# managed by tripleo (puppet)\nOVS_CTL_OPTS=\"--no-mlockall --no-record-hostname${vswitchd}\"\n",
    }
    # Debian's init script starts ovs-ctl with --system-id=random, which sets external_ids:system-id from this
    # file at every start (one it made up when there is none): the chassis would change name each time
    file { '/etc/openvswitch/system-id.conf':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      content => "${hostname}\n",
    }
    service { 'openvswitch-switch':
      ensure    => running,
      hasstatus => true,
      status    => '/sbin/start-stop-daemon --status --pidfile /var/run/openvswitch/ovs-vswitchd.pid',
      subscribe => File['/etc/default/openvswitch-switch', '/etc/openvswitch/system-id.conf'],
    }
    $vsctl = '/usr/bin/ovs-vsctl --timeout=30'
    exec { 'ovn integration bridge':
      command => "${vsctl} --may-exist add-br br-int -- set bridge br-int datapath_type=${datapath_type} fail_mode=secure",
      unless  => "/bin/sh -c '[ \"\$(${vsctl} --if-exists get bridge br-int datapath_type)\" = ${datapath_type} ]'",
      require => Service['openvswitch-switch'],
    }
    $mappings = $bridge_mappings ? {
      String  => $bridge_mappings,
      default => $bridge_mappings.join(','),
    }
    $remote = $sb_ips.map |$ip| { "tcp:${ip}:${sb_port}" }.join(',')
    $ids = {
      'ovn-remote'                => $remote,
      'ovn-encap-type'            => 'geneve',
      'ovn-encap-ip'              => $encap_ip,
      'system-id'                 => $hostname,
      'hostname'                  => $hostname,
      'ovn-bridge'                => 'br-int',
      'ovn-bridge-datapath-type'  => $datapath_type,
      'ovn-bridge-mappings'       => $mappings,
      'ovn-cms-options'           => $cms_options,
    }
    $ids.each |$key, $value| {
      # ovs-vsctl prints a value with punctuation in double quotes
      $now = "\$(${vsctl} --if-exists get open_vswitch . external_ids:${key} | tr -d '\"')"
      if $value == '' {
        exec { "ovs external_ids ${key}":
          command  => "${vsctl} remove open_vswitch . external_ids ${key}",
          onlyif   => "[ -n \"${now}\" ]",
          provider => shell,
          require  => Service['openvswitch-switch'],
          before   => Service['ovn-host'],
        }
      } else {
        exec { "ovs external_ids ${key}":
          command  => "${vsctl} set open_vswitch . external_ids:${key}='\"${value}\"'",
          unless   => "[ \"${now}\" = '${value}' ]",
          provider => shell,
          require  => Service['openvswitch-switch'],
          before   => Service['ovn-host'],
        }
      }
    }
    exec { 'ovs manager for os-vif':
      command => "${vsctl} set-manager ptcp:6640:127.0.0.1",
      unless  => "/bin/sh -c '${vsctl} get-manager | grep -qx ptcp:6640:127.0.0.1'",
      require => Service['openvswitch-switch'],
    }
    # This Neutron (Zed) reads a chassis' ovn-cms-options and ovn-bridge-mappings from its external_ids in the
    # southbound database, where OVN 23.03's ovn-controller no longer copies them (it writes other_config):
    # without them Neutron sees no gateway chassis. Written there once the chassis has registered.
    $sbctl = "/usr/bin/ovn-sbctl --timeout=30 --db=${remote}"
    $for_neutron = { 'ovn-cms-options' => $cms_options, 'ovn-bridge-mappings' => $mappings }
    $for_neutron.each |$key, $value| {
      unless $value == '' {
        $seen = "\$(${sbctl} --if-exists get chassis ${hostname} external_ids:${key} | tr -d '\"')"
        exec { "ovn chassis ${key} for neutron":
          command   => "${sbctl} set chassis ${hostname} external_ids:${key}='\"${value}\"'",
          unless    => "[ \"${seen}\" = '${value}' ]",
          provider  => shell,
          tries     => 20,
          try_sleep => 3,
          require   => Service['ovn-host'],
        }
      }
    }
    file { '/etc/init.d/ovn-host':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      content => file('tripleo/ovn-host.init'),
    }
    file { '/etc/default/ovn-host':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      content => "# managed by tripleo (puppet)\nOVN_CTL_OPTS=\"--ovn-controller-priority=0\"\n",
    }
    service { 'ovn-host':
      ensure    => running,
      hasstatus => true,
      require   => Exec['ovn integration bridge'],
      subscribe => File['/etc/init.d/ovn-host', '/etc/default/ovn-host'],
    }
  }
}

# keepalived on a node of the VIP role, from step 2 (its template says what it does). Each VIP network
# (hieradata tripleo::virtual_ips, sorted) gets one vrrp_instance on the device holding this node's address
# there (from facts: the NIC config is applied before step 1), unicast to the other nodes' addresses on that
# network (all_nodes' keepalived_node_addresses), the VIP as a host address. The HAProxy check asks
# HAProxy's admin socket for `show info` every second; two misses put every instance in FAULT (the VIPs go),
# two answers bring them back as backups. Debian's init script runs it (VRRP only, no IPVS checkers); its
# status is the parent's pid file, and a config change reloads it (SIGHUP keeps the VIPs where they are).
class tripleo::profile::base::keepalived (
  Integer $step = Integer($facts['tripleo_step']),
  Integer $router_id_base = 51,
  Hash[String, String] $virtual_ips = lookup('tripleo::virtual_ips', Hash[String, String], 'first', {}),
  Array[Hash] $node_addresses = lookup('keepalived_node_addresses', Array[Hash], 'first', []),
  Integer $advert_int = 1,
) {
  if $step >= 2 {
    package { 'keepalived':
      ensure => installed,
    }
    $interfaces = $facts['networking']['interfaces']
    $position = $node_addresses.index |$addresses| {
      $addresses.any |$net, $ip| { $ip == lookup($net, Optional[String], 'first', undef) }
    }
    $priority = 200 - 10 * ($position ? { undef => 0, default => $position })
    $instances = $virtual_ips.keys.sort.map |$i, $net| {
      $mine = lookup($net, Optional[String], 'first', undef)
      $device = $interfaces.keys.sort.filter |$name| {
        [$interfaces[$name]['bindings'], $interfaces[$name]['bindings6']].flatten.any |$b| {
          $b =~ Hash and $b['address'] == $mine
        }
      }[0]
      $instance = {
        'name'      => $net,
        'device'    => $device,
        'source'    => $mine,
        'peers'     => $node_addresses.map |$a| { $a[$net] }.filter |$ip| { $ip and $ip != $mine },
        'vip'       => $virtual_ips[$net],
        'prefix'    => $virtual_ips[$net] =~ /:/ ? { true => 128, default => 32 },
        'router_id' => $router_id_base + $i,
        'priority'  => $priority,
      }
      $instance
    }.filter |$instance| { $instance['source'] and $instance['device'] }
    file { '/etc/keepalived/check-haproxy':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      content => "#!/bin/sh\n# managed by tripleo (puppet): HAProxy answers on its admin socket\necho 'show info' | socat -t 1 - UNIX-CONNECT:/run/haproxy/admin.sock 2>/dev/null | grep -q '^Name: HAProxy'\n",
      require => Package['keepalived'],
    }
    file { '/etc/default/keepalived':
      ensure  => file,
      mode    => '0644',
      content => "# managed by tripleo (puppet)\nDAEMON_ARGS=\"--vrrp --log-detail\"\n",
      require => Package['keepalived'],
    }
    file { '/etc/keepalived/keepalived.conf':
      ensure  => file,
      mode    => '0640',
      content => epp('tripleo/keepalived.conf.epp', {
        'router_name' => $facts['networking']['hostname'],
        'instances'   => $instances,
        'advert_int'  => $advert_int,
      }),
      require => Package['keepalived'],
    }
    service { 'keepalived':
      ensure     => running,
      hasstatus  => false,
      status     => 'start-stop-daemon --status --pidfile /run/keepalived.pid --exec /usr/sbin/keepalived',
      hasrestart => true,
      restart    => '/etc/init.d/keepalived reload',
      subscribe  => File['/etc/keepalived/keepalived.conf', '/etc/keepalived/check-haproxy', '/etc/default/keepalived'],
    }
    # the next steps reach services through the VIPs: step 2 ends once a node answers on each of them
    $instances.each |$instance| {
      exec { "tripleo keepalived: ${instance['vip']} is held":
        command   => "ping -c 1 -W 1 ${instance['vip']}",
        unless    => "ping -c 1 -W 1 ${instance['vip']}",
        path      => ['/usr/bin', '/bin'],
        tries     => 30,
        try_sleep => 1,
        require   => Service['keepalived'],
      }
    }
  }
}

# OVN's central services on a controller, in step 3: the northbound and southbound databases (listening on
# the node's address of their network only: `listen_ip`) and ovn-northd, started by ovn-ctl with the options
# of /etc/default/ovn-central, as Debian's ovn-central unit reads them. One node: standalone databases. More
# (`node_ips`, the addresses of every node of the service): a RAFT cluster of each database across them,
# created by the bootstrap node and joined by the others (raft ports 6643 and 6644), and every node's
# ovn-northd on all members (one holds the lock and works, the others stand by).
# A node whose init is not systemd (a lab node) has no ovn-central init script in Debian: it gets
# files/ovn-central.init.
class tripleo::profile::base::neutron::ovn_northd (
  Stdlib::IP::Address $listen_ip,
  Integer $step = Integer($facts['tripleo_step']),
  Array[Stdlib::IP::Address] $node_ips = lookup('ovn_dbs_node_ips', Array[String], 'first', []),
  Optional[String] $bootstrap_node = lookup('ovn_dbs_short_bootstrap_node_name', Optional[String], 'first', undef),
  Stdlib::Port $nb_port = 6641,
  Stdlib::Port $sb_port = 6642,
) {
  if $step >= 3 {
    $common = [
      "--db-nb-addr=${listen_ip}", "--db-nb-port=${nb_port}", '--db-nb-create-insecure-remote=yes',
      "--db-sb-addr=${listen_ip}", "--db-sb-port=${sb_port}", '--db-sb-create-insecure-remote=yes',
      '--ovn-northd-priority=0',
    ]
    if length($node_ips) > 1 {
      $bootstrap_ip = $node_ips[0]
      $join = tripleo::is_bootstrap($bootstrap_node) ? {
        true    => [],
        default => ["--db-nb-cluster-remote-addr=${bootstrap_ip}", "--db-sb-cluster-remote-addr=${bootstrap_ip}"],
      }
      $nb = $node_ips.map |$ip| { "tcp:${ip}:${nb_port}" }.join(',')
      $sb = $node_ips.map |$ip| { "tcp:${ip}:${sb_port}" }.join(',')
      $options = $common + [
        "--db-nb-cluster-local-addr=${listen_ip}", "--db-sb-cluster-local-addr=${listen_ip}",
        "--ovn-northd-nb-db=${nb}", "--ovn-northd-sb-db=${sb}",
      ] + $join
    } else {
      $options = $common
    }
    file { '/etc/init.d/ovn-central':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      content => file('tripleo/ovn-central.init'),
    }
    file { '/etc/default/ovn-central':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      content => "# managed by tripleo (puppet)\nOVN_CTL_OPTS=\"${options.join(' ')}\"\n",
    }
    service { 'ovn-central':
      ensure    => running,
      hasstatus => true,
      subscribe => File['/etc/init.d/ovn-central', '/etc/default/ovn-central'],
    }
  }
}

# Galera's clustercheck for HAProxy, as TripleO and kolla run it: HTTP on the node's database address, port
# 9200; 200 while this MariaDB is a Synced member (wsrep_local_state 4) and writable, 503 otherwise (a donor,
# a joiner, a node outside the primary component), and 503 whatever the state while the marker file exists
# (taken out of rotation, e.g. during an update). socat serves it from an init script of ours (lab nodes
# have no systemd); the check reads MariaDB's status as root over its unix socket.
class tripleo::profile::base::database::clustercheck (
  Stdlib::IP::Address $bind_ip,
  Stdlib::Port $port = 9200,
  String $disabled_marker = '/var/lib/tripleo/clustercheck.disabled',
) {
  file { '/etc/mysql/tripleo-clustercheck':
    ensure  => file,
    mode    => '0755',
    content => epp('tripleo/clustercheck.sh.epp', { 'disabled_marker' => $disabled_marker }),
  }
  file { '/etc/default/tripleo-clustercheck':
    ensure  => file,
    mode    => '0644',
    content => "# managed by tripleo (puppet)\nBIND=${bind_ip}\nPORT=${port}\n",
  }
  file { '/etc/init.d/tripleo-clustercheck':
    ensure  => file,
    mode    => '0755',
    content => epp('tripleo/clustercheck.init.epp'),
  }
  service { 'tripleo-clustercheck':
    ensure    => running,
    hasstatus => true,
    subscribe => File['/etc/mysql/tripleo-clustercheck', '/etc/default/tripleo-clustercheck',
                      '/etc/init.d/tripleo-clustercheck'],
  }
}

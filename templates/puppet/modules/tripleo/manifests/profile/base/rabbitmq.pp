# RabbitMQ on every node of its role, from step 2, clustered through puppet-rabbitmq's classic peer
# discovery. Each broker is `rabbit@<short>.<network>` (long names: all_nodes' rabbitmq_network_node_names
# less the domain, which /etc/hosts resolves to the node's address on RabbitMQ's network), and
# every port it opens is on that address: AMQP, epmd (ERL_EPMD_ADDRESS; epmd adds loopback) and the Erlang
# distribution port (one fixed port). The Erlang cookie is generated once per stack. The bootstrap node's
# broker starts first; every other one waits until it runs, then starts and joins it (a broker that came up
# alone, e.g. a lone broker of an older deploy, is reset and joined). Step 2 ends only when every broker is
# a member, since the services' quorum queues (step 4) take their replicas from the members present then.
# One user for every OpenStack service (its password generated per stack), no guest-only-on-loopback rule,
# no management plugin. Debian's init script starts it (Puppet's `debian` provider: lab nodes have no
# systemd). Partitions: pause_minority from three brokers (a cut-off broker stops serving), autoheal below.
class tripleo::profile::base::rabbitmq (
  Stdlib::IP::Address $bind_host,
  String $password,
  String $cookie,
  Integer $step = Integer($facts['tripleo_step']),
  String $user = 'guest',
  Stdlib::Port $port = 5672,
  Stdlib::Port $distribution_port = 25672,
  Integer $net_ticktime = 15,
  Array[String] $node_ips = lookup('rabbitmq_node_ips', Array[String], 'first', []),
  Array[String] $network_names = lookup('rabbitmq_network_node_names', Array[String], 'first', []),
  Optional[String] $bootstrap_node = lookup('rabbitmq_short_bootstrap_node_name', Optional[String], 'first', undef),
) {
  if $step >= 2 {
    # <short>.<network>: /etc/hosts's alias of each node on RabbitMQ's network, without the cloud's domain,
    # so that a new CloudName does not rename the brokers (a renamed broker is a new, empty node)
    $node_names = $network_names.map |$name| { $name.split('\.')[0, 2].join('.') }
    $own_index = $node_ips.index |$ip| { $ip == $bind_host }
    $own_name = $own_index ? {
      undef   => $facts['networking']['fqdn'],
      default => $node_names[$own_index],
    }
    $boot_name = $bootstrap_node ? {
      undef   => $own_name,
      default => $node_names.filter |$name| { $name.split('\.')[0] == downcase($bootstrap_node) }[0],
    }
    $octets = $bind_host.split('\.').join(',')
    $erl = ['/usr/sbin', '/usr/bin', '/sbin', '/bin']
    class { 'rabbitmq':
      node_ip_address            => $bind_host,
      port                       => $port,
      default_user               => $user,
      default_pass               => $password,
      erlang_cookie              => $cookie,
      wipe_db_on_cookie_change   => true,
      loopback_users             => [],
      delete_guest_user          => false,
      admin_enable               => false,
      repos_ensure               => false,
      manage_python              => false,
      config_cluster             => true,
      cluster_nodes              => $node_names,
      cluster_node_type          => 'disc',
      cluster_partition_handling => $node_names.length >= 3 ? { true => 'pause_minority', default => 'autoheal' },
      environment_variables      => {
        'LC_ALL'                  => 'C.UTF-8',
        'NODENAME'                => "rabbit@${own_name}",
        'USE_LONGNAME'            => 'true',
        'export ERL_EPMD_ADDRESS' => $bind_host,
      },
      config_kernel_variables    => {
        'inet_dist_use_interface' => "{${octets}}",
        'inet_dist_listen_min'    => $distribution_port,
        'inet_dist_listen_max'    => $distribution_port,
        'net_ticktime'            => $net_ticktime,
      },
    }
    if $boot_name and $boot_name != $own_name {
      # a blank broker joins the first listed peer that runs: the bootstrap node's, started first
      exec { 'tripleo rabbitmq waits for its bootstrap broker':
        command   => "rabbitmq-diagnostics -q -n rabbit@${boot_name} check_running",
        unless    => 'rabbitmq-diagnostics -q check_running',
        path      => $erl,
        tries     => 60,
        try_sleep => 5,
        require   => Class['rabbitmq::config'],
        before    => Class['rabbitmq::service'],
      }
      exec { 'tripleo rabbitmq joins its bootstrap broker':
        command  => "rabbitmqctl stop_app && rabbitmqctl reset && rabbitmqctl join_cluster rabbit@${boot_name} && rabbitmqctl start_app",
        unless   => "rabbitmqctl -q cluster_status --formatter json | grep -qF '\"rabbit@${boot_name}\"'",
        provider => shell,
        path     => $erl,
        require  => Class['rabbitmq::service'],
        before   => Rabbitmq_user[$user],
      }
    }
    # the password of an existing user follows the stack's (default_pass only seeds a new database)
    rabbitmq_user { $user:
      admin    => true,
      password => $password,
    }
    rabbitmq_user_permissions { "${user}@/":
      configure_permission => '.*',
      read_permission      => '.*',
      write_permission     => '.*',
    }
  }
}

# RabbitMQ on a controller, from step 2, through puppet-rabbitmq: AMQP on the node's address of its network
# only (epmd and the Erlang distribution port listen where Erlang puts them, since rabbitmqctl reaches the
# node by its host name; the node's firewall admits neither from any network), one user for every
# OpenStack service (its password generated per stack), no guest-only-on-loopback rule, no management
# plugin. Debian's init script starts it (Puppet's `debian` service provider: lab nodes have no systemd).
class tripleo::profile::base::rabbitmq (
  Stdlib::IP::Address $bind_host,
  String $password,
  String $cookie,
  Integer $step = Integer($facts['tripleo_step']),
  String $user = 'guest',
  Stdlib::Port $port = 5672,
) {
  if $step >= 2 {
    class { 'rabbitmq':
      node_ip_address          => $bind_host,
      port                     => $port,
      default_user             => $user,
      default_pass             => $password,
      erlang_cookie            => $cookie,
      wipe_db_on_cookie_change => true,
      loopback_users           => [],
      delete_guest_user        => false,
      admin_enable             => false,
      repos_ensure             => false,
      manage_python            => false,
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

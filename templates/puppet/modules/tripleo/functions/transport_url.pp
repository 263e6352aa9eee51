# The oslo.messaging URL of the overcloud's RabbitMQ: every node running it (all_nodes' rabbitmq_node_ips,
# their addresses on its network), with the user and password the client services share (role_data
# tripleo::messaging::*). A full `given` URL overrides it.
function tripleo::transport_url(Optional[String] $given = undef) >> String {
  $given ? {
    undef   => os_transport_url({
      'transport' => 'rabbit',
      'hosts'     => lookup('rabbitmq_node_ips', Array[String], 'first', []),
      'port'      => '5672',
      'username'  => lookup('tripleo::messaging::user', String, 'first', 'guest'),
      'password'  => lookup('tripleo::messaging::password'),
    }),
    default => $given,
  }
}

# Whether this node is `bootstrap_node` (a short host name, all_nodes' <service>_short_bootstrap_node_name):
# the one node that creates a service's database and runs its db_sync. Every node is, when none is named.
function tripleo::is_bootstrap(Optional[String] $bootstrap_node) >> Boolean {
  $bootstrap_node ? {
    undef   => true,
    default => downcase($bootstrap_node) == downcase($facts['networking']['hostname']),
  }
}

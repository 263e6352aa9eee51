# The entry point of every deploy step: `puppet apply -e 'include tripleo::role'` with the fact
# tripleo_step set to 1..5 (config download runs each step on every node before the next step).
# Each service of the node's role (hieradata tripleo::services) that has a profile here gets it; profiles act
# only in the steps they belong to, so a step can rely on what earlier steps did on every node.
class tripleo::role (
  Array[String] $services = lookup('tripleo::services', Array[String], 'first', []),
) {
  $step = Integer($facts['tripleo_step'])
  class { 'tripleo::profile::base':
    step => $step,
  }
  # the services of the node's role that have a profile here, in this order
  ['memcached', 'mysql', 'haproxy'].each |$service| {
    if $service in $services {
      class { "tripleo::profile::${service}":
        step => $step,
      }
    }
  }
}

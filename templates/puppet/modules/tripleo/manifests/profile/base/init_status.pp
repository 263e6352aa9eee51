# The status of a service run by one of Debian's openstack-pkg-tools init scripts, from its pidfile.
# Their `status` asks pidofproc whether the pidfile's process runs $DAEMON, and a Python daemon's process
# runs python3: every eventlet service (nova-compute, neutron agents, glance-api...) reads as stopped
# while it runs, so Puppet never restarts it on a config change; a uwsgi API's status without a pidfile finds
# any uwsgi process (another API's), so a stopped one reads as running. start-stop-daemon --status only asks
# whether the pidfile's process is alive. Title: the service's name; `pidname`: the init script's NAME
# (neutron-api's is neutron-server). A service not in the node's catalog is left alone.
define tripleo::profile::base::init_status (
  String $project,
  String $pidname = $title,
) {
  Service <| title == $title or name == $title |> {
    hasstatus => true,
    status    => "/sbin/start-stop-daemon --status --pidfile /var/run/${project}/${pidname}.pid",
  }
}

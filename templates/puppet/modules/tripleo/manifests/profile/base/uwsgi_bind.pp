# Debian's init scripts of the uwsgi APIs (openstack-pkg-tools) bind `--http-socket :<port>`, every address,
# and read /etc/default/<NAME> after building their arguments: its DAEMON_ARGS line replaces them with one
# address, so that HAProxy can bind the VIPs on the same port. A change restarts the service. `defaults` is
# the init script's NAME when it differs from the service's (neutron-api's is neutron-server, a file that
# puppet-neutron's ml2 class declares too: then only the line is ours). `env`: variables of the application's
# processes (uwsgi `--env`), e.g. an oslo.config option as OS_<GROUP>__<OPTION> for this service alone.
define tripleo::profile::base::uwsgi_bind (
  Stdlib::IP::Address $bind_host,
  Stdlib::Port $bind_port,
  Stdlib::Absolutepath $ini,
  Optional[Integer[1]] $processes = undef,
  String $service = $title,
  String $defaults = $service,
  Hash[String, String] $env = {},
) {
  $path = "/etc/default/${defaults}"
  if !defined(File[$path]) {
    file { $path:
      ensure => file,
      mode   => '0644',
    }
  }
  $workers = $processes ? {
    undef   => '',
    default => " --processes ${processes}",
  }
  $vars = $env.keys.sort.map |$key| { " --env ${key}=${env[$key]}" }.join('')
  file_line { "${path} DAEMON_ARGS":
    path  => $path,
    line  => "DAEMON_ARGS=\"--ini ${ini} --http-socket ${bind_host}:${bind_port}${workers}${vars}\"",
    match => '^DAEMON_ARGS=',
  }
  File[$path] -> File_line["${path} DAEMON_ARGS"]
  File_line["${path} DAEMON_ARGS"] ~> Service <| title == $service or name == $service |>
}

# Debian's init scripts of the uwsgi APIs (openstack-pkg-tools) bind `--http-socket :<port>`, every address,
# and read /etc/default/<service> after building their arguments: this replaces them with one address, so
# that HAProxy can bind the VIPs on the same port. A change restarts the service.
define tripleo::profile::base::uwsgi_bind (
  Stdlib::IP::Address $bind_host,
  Stdlib::Port $bind_port,
  Stdlib::Absolutepath $ini,
  Optional[Integer[1]] $processes = undef,
  String $service = $title,
) {
  file { "/etc/default/${service}":
    ensure  => file,
    mode    => '0644',
    content => epp('tripleo/uwsgi-default.epp', {
      'service'   => $service,
      'bind_host' => $bind_host,
      'bind_port' => $bind_port,
      'ini'       => $ini,
      'processes' => $processes,
    }),
  }
  File["/etc/default/${service}"] ~> Service <| title == $service or name == $service |>
}

# Swift's proxy server (step 4: Keystone runs since step 3) on the node's address of its network, with
# Keystone tokens (keystonemiddleware, delay_auth_decision for public reads), keystoneauth's operator roles,
# Swift's memcache on every controller's memcached, accounts created on first use. HAProxy checks it on
# /healthcheck. Its service user and catalog entry come from the deploying host (keystone_resources).
class tripleo::profile::base::swift::proxy (
  Integer $step = Integer($facts['tripleo_step']),
  Stdlib::IP::Address $bind_host,
  String $password,
  String $auth_url,
  String $www_authenticate_uri,
  String $region = 'regionOne',
  Stdlib::Port $bind_port = 8080,
  Integer[0] $workers = 1,
  Integer[1] $node_timeout = 10,
  Array[String] $memcached_servers = [],
  Array[String] $operator_roles = ['admin', 'member', 'swiftoperator'],
) {
  # step 6: a config container's run (container-puppet), every step's config at once
  if $step == 4 or $step > 5 {
    include tripleo::profile::base::swift
    $memcache = $memcached_servers.map |$ip| { "${ip}:11211" }.join(',')
    file { '/etc/swift/proxy-server.conf':
      ensure  => file,
      owner   => 'root',
      group   => 'swift',
      mode    => '0640',
      content => epp('tripleo/swift-proxy.conf.epp', {
        'bind_host' => $bind_host, 'bind_port' => $bind_port, 'workers' => $workers,
        'node_timeout' => $node_timeout, 'password' => $password, 'auth_url' => $auth_url,
        'www_authenticate_uri' => $www_authenticate_uri, 'region' => $region, 'memcache' => $memcache,
        'operator_roles' => $operator_roles.join(', '),
      }),
    }
    tripleo::profile::base::swift::daemon { 'proxy-server':
      command      => '/usr/bin/swift-proxy-server /etc/swift/proxy-server.conf -v',
      config_files => ['/etc/swift/proxy-server.conf'],
    }
  }
}

# One Swift daemon (or the replicators' rsync) run by an init script of ours, tripleo-swift-<title>:
# Debian's swift-proxy, swift-account and swift-container scripts are generated for uwsgi but start nothing
# right (their CONFIG is unset), and their status asks pidofproc about python3. Ours start the daemon in the
# foreground under start-stop-daemon (--background, a pid file), its console log (-v) appended to
# /var/log/swift/<title>.log, and restart it when its configuration changes.
define tripleo::profile::base::swift::daemon (
  String $command,
  Array[String] $config_files,
  String $user = 'swift',
) {
  $script = "/etc/init.d/tripleo-swift-${title}"
  file { $script:
    ensure  => file,
    mode    => '0755',
    content => epp('tripleo/swift.init.epp', {
      'name' => $title, 'command' => $command, 'user' => $user,
    }),
  }
  service { "tripleo-swift-${title}":
    ensure    => running,
    hasstatus => true,
    subscribe => File[$script, $config_files, '/etc/swift/swift.conf'],
  }
  # a new ring needs no restart: Swift's daemons read a ring file again when it changes (every 15 s)
  File['/var/log/swift'] -> Service["tripleo-swift-${title}"]
}

# The echo service: a forking python3 TCP echo server on one address, started in step 2 (lab nodes have no
# systemd: a pid file under /run and an `unless` that checks it keep Puppet idempotent).
class echo::profile (
  String $bind_ip,
  Integer $port,
  Integer $step = Integer($facts['tripleo_step']),
  Boolean $fail = false,
  Integer $hang = 0,
) {
  if $step >= 2 and $fail {
    fail('echo: told to fail (EchoFail)')
  }
  if $step >= 2 and $hang > 0 {
    exec { 'echo hangs':
      command => "/bin/sleep ${hang}",
      timeout => 0,
    }
  }
  if $step >= 2 {
    file { '/var/lib/tripleo/echo-server':
      ensure  => file,
      mode    => '0755',
      content => @("PY"),
        #!/usr/bin/python3
        import socketserver, sys
        class Echo(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(self.rfile.readline())
        socketserver.ForkingTCPServer.allow_reuse_address = True
        socketserver.ForkingTCPServer((sys.argv[1], int(sys.argv[2])), Echo).serve_forever()
        | PY
    }
    exec { 'start echo':
      command  => "/usr/bin/setsid /var/lib/tripleo/echo-server ${bind_ip} ${port} >/dev/null 2>&1 < /dev/null & echo \$! > /run/tripleo-echo.pid",
      unless   => '/bin/kill -0 $(cat /run/tripleo-echo.pid 2>/dev/null) 2>/dev/null',
      provider => shell,
      require  => File['/var/lib/tripleo/echo-server'],
    }
  }
}

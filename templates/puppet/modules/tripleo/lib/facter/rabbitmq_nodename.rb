# puppet-rabbitmq's own rabbitmq_nodename fact runs `rabbitmqctl status`, which raises when no broker runs
# (every lab node shares the host's /usr, and a controller's broker starts in step 2) and, worse, starts an
# Erlang port mapper (epmd) on every address of every node it runs on, before RabbitMQ's configuration
# binds it. This one wins (higher weight) and runs nothing: the node name configured in rabbitmq-env.conf
# (tripleo::profile::base::rabbitmq writes it), else RabbitMQ's default.
Facter.add(:rabbitmq_nodename) do
  has_weight 100
  setcode do
    env = '/etc/rabbitmq/rabbitmq-env.conf'
    configured = File.readable?(env) ? File.read(env)[%r{^NODENAME=['"]?([\w.\-]+@[\w.\-]+)}, 1] : nil
    configured || "rabbit@#{Facter.value(:hostname)}"
  end
end

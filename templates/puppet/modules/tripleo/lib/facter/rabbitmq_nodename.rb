# puppet-rabbitmq's own rabbitmq_nodename fact raises when rabbitmqctl is installed but no broker runs
# (every lab node shares the host's /usr, and a controller's broker starts in step 2): this one wins
# (higher weight) and answers RabbitMQ's default node name when `rabbitmqctl status` names none.
Facter.add(:rabbitmq_nodename) do
  has_weight 100
  setcode do
    if Facter::Util::Resolution.which('rabbitmqctl')
      status = Facter::Core::Execution.execute('rabbitmqctl status 2>&1', on_fail: '')
      found = %r{^Status of node '?([\w.\-]+@[\w.\-]+)'?}.match(status.to_s)
      found ? found[1] : "rabbit@#{Facter.value(:hostname)}"
    end
  end
end

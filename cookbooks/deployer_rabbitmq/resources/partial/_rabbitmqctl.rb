# Shared by the resources that drive the local broker with rabbitmqctl (cluster, policy, user).

property :rabbitmqctl, String, default: '/usr/sbin/rabbitmqctl',
         description: 'rabbitmqctl executable; it reaches the local broker with the shared Erlang cookie'

action_class do
  # rabbitmqctl's result; the exit status is the caller's to read.
  def ctl(*args, **options)
    shell_out(new_resource.rabbitmqctl, *args, **options)
  end

  # rabbitmqctl's JSON answer, or nil when it failed or printed something else.
  def ctl_json(*args)
    result = ctl(*args, '--formatter', 'json')
    result.exitstatus.zero? ? JSON.parse(result.stdout) : nil
  rescue JSON::ParserError
    nil
  end
end

# Shared by the resources that talk to the local MariaDB server over its socket (cluster, databases).

property :client, String, default: lazy { node['deployer']['galera']['client'] },
         description: 'mariadb client executable'
property :socket, String, default: lazy { node['deployer']['galera']['socket'] },
         description: "The local server's socket (root logs in by unix_socket authentication)"

action_class do
  # The client on the local socket, batch output without column names.
  def client_command
    [new_resource.client, '--protocol=socket', '-S', new_resource.socket, '-N', '-B']
  end

  # One value of SHOW GLOBAL STATUS ('' when the server is not running).
  def global_status(variable)
    result = shell_out(*client_command, '-e', "SHOW GLOBAL STATUS LIKE '#{variable}'")
    result.exitstatus.zero? ? result.stdout.split("\t", 2).last.to_s.strip : ''
  end
end

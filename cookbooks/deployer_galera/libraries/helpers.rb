#
# MariaDB/Galera settings and SQL, computed from the node's merged attributes
# (a plain Hash) so the resources and tests/chef_render produce the same text.
module DeployerGalera
  module Helpers
    TEMPLATES = {
      'galera.cnf' => { source: 'galera.cnf.erb', variables: :galera_config },
    }.freeze

    SST_METHODS = %w(rsync mariabackup).freeze
    IDENTIFIER = /\A[A-Za-z0-9_]{1,64}\z/.freeze

    module_function

    # {'sections' => {'mysqld' => {option => value}, 'galera' => {...}}} for galera.cnf.erb.
    # secret is only read for the mariabackup SST credentials.
    def galera_config(node, secret)
      galera = node.dig('deployer', 'galera') || {}
      controllers = DeployerCommon::Cluster.controllers(node)
      address = galera['bind_address'] || DeployerCommon::Cluster.me(node)['address']
      {
        'sections' => {
          'mysqld' => mysqld_options(galera, address),
          'galera' => wsrep_options(node, galera, controllers, address, secret),
        },
      }
    end

    def mysqld_options(galera, address)
      options = {
        'user' => galera['user'],
        'bind-address' => address,
        'port' => galera['port'],
        'datadir' => galera['datadir'],
        'socket' => galera['socket'],
        'pid-file' => galera['pid_file'],
        'log-error' => galera['log_error'] || nil,
        'binlog_format' => 'ROW',
        'default_storage_engine' => 'InnoDB',
        'innodb_autoinc_lock_mode' => 2,
      }
      options.merge(galera['tuning'] || {}).merge(galera['mysqld_options'] || {}).compact
    end

    def wsrep_options(node, galera, controllers, address, secret)
      method = galera['sst_method']
      unless SST_METHODS.include?(method)
        raise DeployerCommon::InvalidAttribute, "node['deployer']['galera']['sst_method'] must be one of #{SST_METHODS.join(', ')}, got #{method.inspect}"
      end
      provider = {
        'gmcast.listen_addr' => "tcp://#{address}:#{galera['group_port']}",
        'ist.recv_addr' => "#{address}:#{galera['ist_port']}",
      }.merge(galera['provider_options'] || {})
      options = {
        'wsrep_on' => 'ON',
        'wsrep_provider' => galera['wsrep_provider'],
        'wsrep_cluster_name' => quoted(galera['cluster_name']),
        'wsrep_cluster_address' => "gcomm://#{controllers.map { |c| "#{c['address']}:#{galera['group_port']}" }.join(',')}",
        'wsrep_node_address' => "#{address}:#{galera['group_port']}",
        'wsrep_node_name' => node['name'],
        'wsrep_sst_method' => method,
        'wsrep_sst_receive_address' => "#{address}:#{galera['sst_port']}",
        'wsrep_provider_options' => quoted(provider.map { |k, v| "#{k}=#{v}" }.join('; ')),
      }
      if method == 'mariabackup'
        bag = node.dig('deployer', 'secrets', 'data_bag')
        options['wsrep_sst_auth'] = quoted("#{galera['sst_user']}:#{secret.call(bag, 'mysql', 'sst')}")
      end
      options
    end

    def quoted(value)
      "\"#{value.to_s.gsub('\\') { '\\\\' }.gsub('"') { '\\"' }}\""
    end

    # SQL run once, on the bootstrap node (Galera replicates it): one user per
    # node['deployer']['databases'] entry owning its schemas ('databases'), the password-less
    # haproxy_check user from every controller address, and the mariabackup SST
    # user when that SST method is used.  passwords: {service => password};
    # sst_password only for mariabackup.
    # Returns {'apply' => statements, 'check' => a query printing 1 when all is in place}.
    def database_sql(node, passwords, sst_password = nil)
      galera = node.dig('deployer', 'galera') || {}
      databases = DeployerCommon::Cluster.databases(node)
      apply = []
      checks = []
      databases.each do |service, database|
        field = "node['deployer']['databases']['#{service}']"
        user = identifier!(database['user'] || service, "#{field}['user']")
        password = passwords[service]
        raise DeployerCommon::InvalidAttribute, "no database password for service '#{service}'" if password.to_s.empty?
        apply.concat(user_statements(user, '%', password))
        checks << password_check(user, '%', password)
        Array(database['databases'] || database['database'] || service).each do |schema|
          name = identifier!(schema, "#{field}['databases']")
          apply << "CREATE DATABASE IF NOT EXISTS `#{name}`;"
          apply << "GRANT ALL PRIVILEGES ON `#{name}`.* TO '#{user}'@'%';"
          checks << "(SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = #{sql_string(name)})"
        end
      end
      check_user = identifier!(galera['check_user'], "node['deployer']['galera']['check_user']")
      DeployerCommon::Cluster.controllers(node).each do |controller|
        apply << "CREATE USER IF NOT EXISTS '#{check_user}'@#{sql_string(controller['address'])};"
        checks << "(SELECT COUNT(*) FROM mysql.user WHERE User = #{sql_string(check_user)} AND Host = #{sql_string(controller['address'])})"
      end
      if galera['sst_method'] == 'mariabackup'
        sst_user = identifier!(galera['sst_user'], "node['deployer']['galera']['sst_user']")
        apply.concat(user_statements(sst_user, 'localhost', sst_password.to_s))
        apply << "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO '#{sst_user}'@'localhost';"
        checks << password_check(sst_user, 'localhost', sst_password.to_s)
      end
      { 'apply' => apply.join("\n") + "\n", 'check' => "SELECT (#{checks.join(' + ')}) = #{checks.size};\n" }
    end

    def user_statements(user, host, password)
      ["CREATE USER IF NOT EXISTS '#{user}'@'#{host}' IDENTIFIED BY #{sql_string(password)};",
       "ALTER USER '#{user}'@'#{host}' IDENTIFIED BY #{sql_string(password)};"]
    end

    def password_check(user, host, password)
      "(SELECT COUNT(*) FROM mysql.user WHERE User = '#{user}' AND Host = '#{host}' " \
        "AND authentication_string = PASSWORD(#{sql_string(password)}))"
    end

    def sql_string(value)
      "'#{value.to_s.gsub('\\') { '\\\\' }.gsub("'") { "''" }}'"
    end

    def identifier!(value, field)
      return value if value.is_a?(String) && value.match?(IDENTIFIER)
      raise DeployerCommon::InvalidAttribute, "#{field} must be letters, digits or _ (at most 64), got #{value.inspect}"
    end
  end
end

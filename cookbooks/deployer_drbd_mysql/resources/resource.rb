# The block device under MySQL.  With DRBD (backing 'drbd'): config, metadata, attach/connect;
# the initial sync source is chosen explicitly (the bootstrap node), Pacemaker promotes it from
# then on.  With a shared disk (backing 'shared-disk'): no DRBD; the bootstrap node makes the
# file system on it once.  Either way Pacemaker mounts it (fs_mysql) where MySQL runs.
provides :deployer_drbd_mysql
unified_mode true

description 'Prepares the block device under /var/lib/mysql (DRBD or a shared disk) for Pacemaker'

property :config_dir, String, default: '/etc/drbd.d',
         description: 'Directory drbd.conf includes resource files from'
property :bootstrap, [true, false], default: false,
         description: 'Make this node the initial sync source and create the file system (first converge of the primary only)'

action :create do
  attributes = node.to_hash
  drbd = node['deployer']['drbd_mysql']
  device = DeployerDrbdMysql::Helpers.data_device(attributes)

  # DRBD finds its own `on` section by uname -n, and the peers are named by Chef node name (F11);
  # corosync and RabbitMQ name the nodes the same way.
  file '/etc/hostname' do
    content "#{node.name}\n"
    mode '0644'
  end

  execute "hostname #{node.name}" do
    command ['hostname', node.name]
    not_if { shell_out('hostname').stdout.strip == node.name }
  end

  if DeployerDrbdMysql::Helpers.drbd?(attributes)
    action_drbd
  else
    execute "mkfs #{device}" do
      command ['mkfs', '-t', drbd['fstype'], device]
      only_if { new_resource.bootstrap }
      # Never over a file system: not one Pacemaker mounts elsewhere, not one a re-run finds.
      not_if "blkid #{device}"
      notifies :run, 'execute[seed the MySQL data directory]', :immediately
    end
  end

  # A fresh file system hides the package's data directory: seed the system tables once,
  # right after mkfs, then leave the mount to Pacemaker (fs_mysql).  --skip-test-db as Debian's
  # own postinst does: without it the anonymous users ''@localhost and ''@<hostname> are
  # created, and the more specific ''@node1 wins over keystone@'%' for a client on this node
  # ("Access denied for user 'keystone'@'node1'").
  execute 'seed the MySQL data directory' do
    mount_point = drbd['mount_point']
    command "mount #{device} #{mount_point} && chown mysql:mysql #{mount_point} && " \
            "mariadb-install-db --user=mysql --datadir=#{mount_point} --skip-test-db; " \
            "status=$?; umount #{mount_point}; exit $status"
    action :nothing
  end
end

action_class do
  # DRBD resource, metadata and the bootstrap node's first promotion and file system.
  def action_drbd
    settings = DeployerDrbdMysql::Helpers.drbd_resource(node.to_hash)
    name = settings['resource']
    drbd = node['deployer']['drbd_mysql']
    drbdadm = drbd['drbdadm']
    package 'drbd-utils'

    execute 'modprobe drbd' do
      command %w(modprobe drbd)
      not_if { ::File.exist?('/proc/drbd') }
    end

    res_path = ::File.join(new_resource.config_dir, "#{name}.res")

    template res_path do
      cookbook 'deployer_drbd_mysql'
      source 'drbd.res.erb'
      variables settings
      mode '0644'
      # The 8.4 parser reads the candidate on its own (drbdadm-84 has no --config-to-test).
      verify "#{drbdadm} -c %{path} dump"
    end

    execute "drbdadm create-md #{name}" do
      command [drbdadm, 'create-md', '--force', name]
      # Metadata exists when the resource is already up or when dump-md can read it.
      not_if "#{drbdadm} role #{name}"
      not_if "#{drbdadm} dump-md #{name}"
    end

    # adjust brings the resource up, or in line with a changed file; its dry run prints nothing
    # when the kernel state already matches, so a failed adjust is retried on the next converge.
    execute "drbdadm adjust #{name}" do
      command [drbdadm, 'adjust', name]
      only_if "#{drbdadm} --dry-run adjust #{name} | grep -q ."
    end

    # Only the bootstrap node, and only while no peer has ever been UpToDate.
    execute "drbdadm primary --force #{name}" do
      command [drbdadm, 'primary', '--force', name]
      only_if { new_resource.bootstrap }
      not_if "#{drbdadm} dstate #{name} | grep -q '^UpToDate'"
    end

    execute "mkfs #{drbd['device']}" do
      command ['mkfs', '-t', drbd['fstype'], drbd['device']]
      only_if { new_resource.bootstrap }
      # A file system can only be made on (and probed from) the Primary side.
      only_if "#{drbdadm} role #{name} | grep -q '^Primary'"
      not_if "blkid #{drbd['device']}"
      notifies :run, 'execute[seed the MySQL data directory]', :immediately
    end
  end
end

#!/usr/bin/env bash
# Install everything the deployer needs on Debian 12, as root, idempotently:
#   - Debian packages: the Chef server (goiardi), sshd and network tools for test
#     nodes, Ruby (cookbook checks), and the HA daemons the cookbooks configure;
#   - a virtualenv at ./.venv with the deployer installed (editable) and its test tools.
# Installing goiardi, rabbitmq-server, mariadb-server, keepalived, haproxy or
# postgresql starts their system services on a systemd host, on the default ports
# that the embedded and test instances would then collide with: they are kept from
# starting during the install and disabled afterwards.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv="$repo/.venv"
python=${PYTHON:-/usr/bin/python3}

APT_PACKAGES=(
  goiardi openssh-server ruby ruby-mixlib-authentication iproute2 util-linux openssl curl psmisc procps sudo socat
  python3-venv python3-dev gcc
  haproxy keepalived mariadb-server galera-4 rsync rabbitmq-server
  pacemaker-cli-utils drbd-utils postgresql
  chromium chromium-driver wrk
  # Test nodes boot systemd as PID 1 in their own namespaces (systemd-nspawn).
  systemd-container
  # The chef-client stand-in (tests/standin) is built on the libraries Chef itself uses.
  ohai libyajl-dev ruby-chef-config ruby-chef-utils ruby-mixlib-shellout ruby-mixlib-log
  ruby-mixlib-cli ruby-mixlib-config ruby-ffi-yajl ruby-erubis ruby-rspec
)
# Services the packages above would start on a systemd host; never ssh.
QUIET_UNITS=(goiardi rabbitmq-server epmd.socket epmd mariadb keepalived haproxy postgresql)

# --- Over-cloud packages (Debian 12's own OpenStack, Zed era) --------------------------------
# Test nodes are overlays of this host's /, so these reach every node as its "image": a converge
# finds them installed and only configures, enables and starts them.  Measured here: 411 packages,
# 1 min 40 s from a warm apt cache, 1.1 GB on disk.  nova-consoleproxy is the one provider of
# the virtual nova-novncproxy.  neutron-common carries the eventlet neutron-server the cookbooks
# run (ML2/OVN needs it in Zed), not the neutron-server metapackage, whose uwsgi neutron-api would
# hold port 9696 on every address.  pacemaker/corosync/resource-agents serve the HA roles.
OVERCLOUD_PACKAGES=(
  keystone python3-openstackclient python3-osc-placement glance-api placement-api
  nova-api nova-conductor nova-scheduler nova-compute nova-consoleproxy
  neutron-common neutron-ovn-metadata-agent ovn-central ovn-host openvswitch-switch
  cinder-api cinder-scheduler cinder-volume
  pacemaker corosync resource-agents
)
APT_PACKAGES+=("${OVERCLOUD_PACKAGES[@]}")
# Every unit those packages enable: the cookbooks enable what a role runs.
QUIET_UNITS+=(
  keystone glance-api placement-api nova-api nova-api-metadata nova-conductor nova-scheduler
  nova-compute nova-novncproxy nova-serialproxy nova-spicehtml5proxy neutron-api neutron-rpc-server
  neutron-ovn-metadata-agent ovn-central ovn-host openvswitch-switch cinder-api cinder-scheduler
  cinder-volume corosync pacemaker libvirtd libvirt-guests libvirtd.socket libvirtd-ro.socket
  libvirtd-admin.socket virtlockd.socket virtlockd-admin.socket virtlogd.socket virtlogd-admin.socket
  iscsid.socket open-iscsi rtslib-fb-targetctl
)
# The packages' debconf questions, answered: no dbconfig database, no RabbitMQ or keystone_authtoken
# editing, no admin tenant and no endpoint registration at install time (the cookbooks do all of
# it, once per deployment).  These are the packages' defaults too; preseeding states them.
DEBCONF_SELECTIONS='
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
glance-common glance/configure_db boolean false
glance-common glance/configure_rabbit boolean false
glance-common glance/configure_ksat boolean false
glance-api glance/configure_api-endpoint boolean false
placement-common placement/configure_db boolean false
placement-common placement/configure_ksat boolean false
placement-api placement/configure_api-endpoint boolean false
nova-common nova/configure_db boolean false
nova-common nova/configure_rabbit boolean false
nova-common nova/configure_ksat boolean false
nova-common nova/configure_neutron boolean false
nova-common nova/configure_placement boolean false
nova-api novaapi/configure_db boolean false
nova-api nova/configure_api-endpoint boolean false
neutron-common neutron/configure_db boolean false
neutron-common neutron/configure_rabbit boolean false
neutron-common neutron/configure_ksat boolean false
neutron-common neutron/configure_nova boolean false
neutron-api neutron/configure_api-endpoint boolean false
cinder-common cinder/configure_db boolean false
cinder-common cinder/configure_rabbit boolean false
cinder-common cinder/configure_ksat boolean false
cinder-api cinder/configure_api-endpoint boolean false
'
# --- end of over-cloud packages ----------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install.sh: installing Debian packages: ${missing[*]}"
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # Keep the freshly installed services from starting (invoke-rc.d honours this).
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
  fi
  trap '[ -n "$guard" ] && rm -f "$guard"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  echo "$DEBCONF_SELECTIONS" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -d /run/systemd/system ]; then
  for unit in "${QUIET_UNITS[@]}"; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "install.sh: creating $venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -e "$repo[test]"
echo "install.sh: done. The deployer is $venv/bin/deployer"

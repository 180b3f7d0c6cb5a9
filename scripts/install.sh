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

"""The host-image rules of test nodes, checked on this host's real unit links and dpkg database."""
from __future__ import annotations

import os
import stat
import shutil
from pathlib import Path

import pytest

from deployer.testnodes import image

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-query") or not image.UNIT_DIR.is_dir(),
                                reason="needs a Debian host with /etc/systemd/system")


def test_only_units_of_a_fresh_debian_server_stay_enabled():
    links = image.host_service_links()
    assert links, "this host enables services of its own (install.sh)"
    assert all(link.startswith("etc/systemd/system/") for link in links)
    names = {Path(link).name for link in links}
    # ssh.service (the SSH server task) and its alias stay; so do the base system's units.
    assert not names & {"ssh.service", "sshd.service", "getty@tty1.service", "apt-daily.timer",
                        "e2scrub_reap.service", "remote-fs.target"}
    for link in links:
        target = Path(os.path.realpath("/" + link))
        assert target.name not in image.SERVER_TASK_UNITS
    for name in ("mariadb.service", "rabbitmq-server.service", "epmd.socket", "corosync.service"):
        if (image.UNIT_DIR / "multi-user.target.wants" / name).exists() or \
                (image.UNIT_DIR / "sockets.target.wants" / name).exists():
            assert name in names


def test_host_state_is_hidden_and_user_directories_emptied(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYER_STATE_DIR", "/usr/share/doc")   # any visible host path
    scanned = image.HostImage.scan(private_paths=[Path("/usr/share/common-licenses"),
                                                  Path("/tmp/inside-tmp")])
    assert "usr/share/doc" in scanned.hidden and "usr/share/common-licenses" in scanned.hidden
    assert "tmp/inside-tmp" not in scanned.hidden          # /tmp is emptied anyway
    assert "usr/sbin/policy-rc.d" in scanned.hidden or not os.path.lexists("/usr/sbin/policy-rc.d")
    assert not {"etc", "usr", "var", "bin", "proc"} & set(scanned.hidden)
    for entry in os.listdir("/"):
        if entry not in image.DEBIAN_TOP_LEVEL:
            assert entry in scanned.hidden


@pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts (mknod) and trusted xattrs need root")
def test_apply_writes_whiteouts_and_opaque_directories_with_the_hosts_modes(tmp_path):
    rules = image.HostImage(disabled_links=("etc/systemd/system/multi-user.target.wants/x.service",),
                            hidden=("usr/share/doc",))
    rules.apply(tmp_path)
    for relative in (*rules.disabled_links, *rules.hidden):
        mode = os.lstat(tmp_path / relative).st_mode
        assert stat.S_ISCHR(mode) and os.lstat(tmp_path / relative).st_rdev == os.makedev(0, 0)
    assert os.getxattr(tmp_path / "root", image.OPAQUE_XATTR) == b"y"
    assert stat.S_IMODE(os.stat(tmp_path / "root").st_mode) == stat.S_IMODE(os.stat("/root").st_mode)
    assert stat.S_IMODE(os.stat(tmp_path / "tmp").st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(tmp_path / "usr/share").st_mode) == \
        stat.S_IMODE(os.stat("/usr/share").st_mode)

"""One SSH connection to a node: connect, run commands, upload files.

Built on paramiko.  What it adds is what a bootstrap needs from SSH:
- each way a connection can fail has its own exception class and a message an
  operator can act on (wrong credentials vs. nothing listening vs. no route vs.
  a hung host vs. a host key that changed);
- the host key is pinned by its SHA256 fingerprint when one is given, and the
  fingerprint seen is recorded either way;
- commands run as root directly, or through sudo for a non-root user
  (NOPASSWD, or the password fed on stdin, never on the command line);
- output is streamed to a callback while the command runs, with a timeout and a
  cancel check polled between reads;
- liveness: a keepalive probe (``keepalive@openssh.com`` with a reply wanted,
  as OpenSSH's ServerAliveInterval sends) goes out every ``keepalive_interval``
  seconds on a side thread; any packet back from the node, a probe's answer or
  command output, counts as a sign of life.  A node silent for ``idle_timeout``
  seconds (link down, host frozen, powered off) ends the command or file
  transfer with ``SSHNodeSilent`` instead of waiting for TCP to give up (about
  15 minutes) or for the run's own time limit.

The password never appears in any message this module produces.
"""
from __future__ import annotations

import codecs
import errno
import os
import select
import shlex
import dataclasses
import socket
import threading
import time
import uuid
from typing import Callable

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError

from deployer.bootstrap.contract import NodeTarget
from deployer.chef.names import normalize_fingerprint

OutputCallback = Callable[[str, str], None]     # (stream, text)

_POLL_SECONDS = 0.25
KEEPALIVE_REQUEST = "keepalive@openssh.com"


@dataclasses.dataclass(frozen=True)
class Liveness:
    """How a connection tells a silent node from a busy one (seconds; 0 turns a check off)."""
    keepalive_interval: float = 10.0   # a probe this often; the node's sshd answers each
    idle_timeout: float = 60.0         # no packet from the node for this long = it is gone

    def __post_init__(self):
        if self.idle_timeout and not self.keepalive_interval:
            raise ValueError("idle_timeout needs keepalive_interval: without probes a node "
                             "running a quiet command looks silent")
        if self.idle_timeout and self.idle_timeout <= self.keepalive_interval:
            raise ValueError(f"idle_timeout ({self.idle_timeout:g}s) must exceed keepalive_interval "
                             f"({self.keepalive_interval:g}s), or a live node looks silent")


class SSHError(Exception):
    """Any failure talking to a node over SSH; the message says which and why."""


class SSHAuthError(SSHError):
    """The node refused the credentials."""


class SSHConnectionRefused(SSHError):
    """Nothing listens on the SSH port (server down, sshd stopped)."""


class SSHTimeout(SSHError):
    """No answer at all within the connect timeout (link down, firewall drop)."""


class SSHUnreachable(SSHError):
    """The network says there is no route to the node."""


class SSHBannerTimeout(SSHError):
    """TCP connected but sshd never spoke (hung host, overloaded sshd)."""


class SSHHostKeyMismatch(SSHError):
    """The node's host key differs from the pinned fingerprint."""


class SSHKeyFileError(SSHError):
    """The private key file for login cannot be read."""


class SSHSudoError(SSHError):
    """The user cannot run commands as root through sudo."""


class SSHConnectionLost(SSHError):
    """The connection dropped while a command was running."""


class SSHNodeSilent(SSHConnectionLost):
    """Nothing at all came back from the node for the idle timeout (keepalives unanswered)."""


class CommandTimeout(SSHError):
    """A command ran longer than its time limit and was abandoned."""


class CommandCancelled(SSHError):
    """The caller asked to stop; the command's channel was closed."""


class _PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """Accepts the host key if it matches the pin (or when there is no pin)."""

    def __init__(self, target: NodeTarget):
        self._target = target
        self.seen: str | None = None

    def missing_host_key(self, client, hostname, key) -> None:
        self.seen = normalize_fingerprint(key.fingerprint)
        expected = self._target.host_key_fingerprint
        if expected and normalize_fingerprint(expected) != self.seen:
            raise SSHHostKeyMismatch(
                f"host key mismatch for {_where(self._target)}: expected "
                f"{normalize_fingerprint(expected)}, the server presented {self.seen} "
                f"({key.get_name()}); the server was reinstalled or the connection is "
                "intercepted - update the pinned fingerprint only if the change is expected")


class _Transport(paramiko.Transport):
    """paramiko's transport thread wakes every 0.1 s (a private class default) to see
    whether it should stop: 100 bare recv loops with that timeout used 2 % of a core here,
    paramiko's does more per wake-up, and a 100-node stack needs every CPU second of its
    2-core under-cloud.  Once a second is enough: close() does not wait for the thread,
    and the handshake timeouts it checks on each wake-up are whole seconds."""
    _active_check_timeout = 1.0


def _channel_open_timed_out(exc: BaseException) -> bool:
    """paramiko's open_session/open_sftp gave up waiting for the server's answer."""
    return isinstance(exc, paramiko.SSHException) and "Timeout opening channel" in str(exc)


def _where(target: NodeTarget) -> str:
    return f"{target.address}:{target.port}"


def _classify_os_error(target: NodeTarget, exc: OSError) -> SSHError:
    where = _where(target)
    if exc.errno == errno.ECONNREFUSED:
        return SSHConnectionRefused(
            f"connection refused by {where}: nothing listens on the SSH port (sshd or the server is down)")
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
        return SSHUnreachable(f"no route to {where}: {os.strerror(exc.errno)}")
    if isinstance(exc, (socket.timeout, TimeoutError)) or exc.errno == errno.ETIMEDOUT:
        return SSHTimeout(
            f"no answer from {where} within {target.connect_timeout:g}s "
            "(host down, link down or packets dropped)")
    return SSHError(f"cannot connect to {where}: {exc.strerror or exc}")


class SSHConnection:
    """An open, authenticated SSH session to one node."""

    def __init__(self, target: NodeTarget, client: paramiko.SSHClient, fingerprint: str,
                 liveness: Liveness = Liveness()):
        self.target = target
        self.host_key_fingerprint = fingerprint
        self.liveness = liveness
        self._client = client
        self._sudo_mode: str | None = None     # None (root/no sudo), "nopasswd", "password"
        self._last_heard = time.monotonic()
        self._closed = threading.Event()
        if liveness.keepalive_interval:
            threading.Thread(target=self._probe, name=f"keepalive-{target.address}",
                             daemon=True).start()

    # -- liveness -----------------------------------------------------------
    def _probe(self) -> None:
        """Send a keepalive wanting a reply, wait for it, repeat; each reply is a sign of life.

        global_request(wait=True) returns on the reply (sshd answers an unknown
        request with a failure message) or once the transport closes.
        """
        transport = self._client.get_transport()
        while transport is not None and transport.is_active() and not self._closed.is_set():
            try:
                transport.global_request(KEEPALIVE_REQUEST, wait=True)
            except (paramiko.SSHException, OSError, EOFError):
                return
            if not transport.is_active():
                return
            self._heard()
            self._closed.wait(self.liveness.keepalive_interval)

    def _heard(self) -> None:
        self._last_heard = time.monotonic()

    def silent_for(self) -> float:
        """Seconds since the node last sent anything (a keepalive answer or output)."""
        return time.monotonic() - self._last_heard

    def _check_alive(self) -> None:
        idle = self.liveness.idle_timeout
        if idle and self.silent_for() > idle:
            raise SSHNodeSilent(
                f"no sign of life from {_where(self.target)} for {idle:g}s (SSH keepalives "
                "unanswered): the link is down, or the node hung or lost power")

    def _no_channel(self, purpose: str) -> "SSHNodeSilent":
        return SSHNodeSilent(
            f"no answer from {_where(self.target)} within {self.target.connect_timeout:g}s to "
            f"opening a channel for {purpose}: the link is down, or the node hung or lost power")

    # -- connecting ---------------------------------------------------------
    @classmethod
    def open(cls, target: NodeTarget, liveness: Liveness = Liveness()) -> "SSHConnection":
        """Connect and log in; then, for a non-root user with sudo on, check sudo works."""
        if not target.password and not target.key_file:
            raise SSHAuthError(f"no password and no key file given for {target.user}@{_where(target)}")
        if target.key_file and not os.access(target.key_file, os.R_OK):
            raise SSHKeyFileError(f"cannot read the SSH key file {target.key_file}")
        policy = _PinnedHostKey(target)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(policy)
        timeout = target.connect_timeout
        try:
            client.connect(
                hostname=target.address, port=target.port, username=target.user,
                password=target.password, key_filename=target.key_file,
                timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
                channel_timeout=timeout, allow_agent=False, look_for_keys=False,
                transport_factory=_Transport)
        except SSHError:
            client.close()
            raise
        except paramiko.PasswordRequiredException:
            client.close()
            raise SSHKeyFileError(f"the SSH key file {target.key_file} is encrypted; "
                                  "give a key without a passphrase") from None
        except paramiko.AuthenticationException:
            client.close()
            method = " and ".join(m for m, v in (("key", target.key_file), ("password", target.password)) if v)
            raise SSHAuthError(
                f"authentication failed for {target.user}@{_where(target)} ({method} rejected)") from None
        except NoValidConnectionsError as exc:
            client.close()
            raise _classify_os_error(target, next(iter(exc.errors.values()))) from None
        except OSError as exc:   # socket.timeout and TimeoutError are OSErrors too
            client.close()
            raise _classify_os_error(target, exc) from None
        except paramiko.SSHException as exc:
            # Whichever of paramiko's timers fires first, "the server never sent its
            # banner" is the case where no remote version string arrived.
            transport = client.get_transport()
            no_banner = transport is None or not transport.remote_version
            client.close()
            if no_banner:
                raise SSHBannerTimeout(
                    f"{_where(target)} accepted TCP but sent no SSH banner within {timeout:g}s "
                    "(host hung or sshd overloaded)") from None
            raise SSHError(f"SSH negotiation with {_where(target)} failed: {exc}") from None
        connection = cls(target, client, policy.seen or "", liveness)
        if target.user != "root" and target.sudo:
            try:
                connection.detect_sudo()
            except SSHError:
                connection.close()
                raise
        return connection

    @property
    def local_address(self) -> str | None:
        """This host's address on the route to the node (what the node can reach back)."""
        transport = self._client.get_transport()
        try:
            return transport.sock.getsockname()[0] if transport else None
        except OSError:
            return None

    def detect_sudo(self) -> None:
        """Find out how sudo works for this user: without a password, or with it
        (``open`` does it when the target asks for sudo; the preflight calls it after
        logging in, to tell a refused login from a refused sudo)."""
        errors: list[str] = []
        collect = lambda stream, text: errors.append(text)   # noqa: E731 - tiny sink
        if self._exec("sudo -n true", on_output=collect, timeout=self.target.connect_timeout) == 0:
            self._sudo_mode = "nopasswd"
            return
        if self.target.password:
            self._sudo_mode = "password"
            if self.run("true", on_output=collect, timeout=self.target.connect_timeout) == 0:
                return
        self._sudo_mode = None
        detail = " ".join("".join(errors).split())[-200:] or "sudo refused"
        raise SSHSudoError(f"user {self.target.user} cannot become root with sudo on "
                           f"{_where(self.target)}: {detail}")

    @property
    def needs_sudo(self) -> bool:
        return self._sudo_mode is not None

    # -- commands -----------------------------------------------------------
    def run(self, command: str, *, sudo: bool | None = None, on_output: OutputCallback | None = None,
            timeout: float | None = None, pty: bool = False,
            should_cancel: Callable[[], bool] | None = None) -> int:
        """Run ``command`` through the remote shell and return its exit status.

        sudo: None = as root when this connection uses sudo; False = as the login user.
        pty: allocate a terminal, so that closing the channel (cancel, timeout)
        hangs up the remote process (SIGHUP) instead of leaving it running.
        A process killed by a signal returns -1.
        """
        if not self.needs_sudo or sudo is False:
            return self._exec(command, on_output=on_output, timeout=timeout, pty=pty,
                              should_cancel=should_cancel)
        inner = "sh -c " + shlex.quote(command)
        if self._sudo_mode == "nopasswd":
            return self._exec("sudo -n -- " + inner, on_output=on_output, timeout=timeout,
                              pty=pty, should_cancel=should_cancel)
        return self._exec("sudo -S -p '' -- " + inner, on_output=on_output, timeout=timeout,
                          pty=pty, should_cancel=should_cancel, feed_password=True)

    def _exec(self, command: str, *, on_output: OutputCallback | None = None,
              timeout: float | None = None, pty: bool = False,
              should_cancel: Callable[[], bool] | None = None, feed_password: bool = False) -> int:
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise SSHConnectionLost(f"the SSH connection to {_where(self.target)} is closed")
        marker = None
        if feed_password and pty:
            # Turn echo off and wait for the marker before sending the password,
            # so the terminal never echoes it back.
            marker = f"__deployer_ready_{uuid.uuid4().hex}__"
            command = f"stty -echo 2>/dev/null; echo {marker}; exec {command}"
        channel = None
        try:
            channel = transport.open_session(timeout=self.target.connect_timeout)
            if pty:
                channel.get_pty(term="dumb", width=200, height=50)
            channel.exec_command(command)
            if feed_password and not pty:
                channel.sendall((self.target.password + "\n").encode())
            if not pty:
                channel.shutdown_write()
            return self._pump(channel, on_output, timeout, should_cancel, pty, marker)
        except SSHError:
            raise
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if _channel_open_timed_out(exc):
                raise self._no_channel("a command") from None
            raise SSHConnectionLost(f"the SSH connection to {_where(self.target)} failed while "
                                    f"running a command: {exc or type(exc).__name__}") from None
        finally:
            if channel is not None:
                channel.close()

    def _pump(self, channel: paramiko.Channel, on_output: OutputCallback | None,
              timeout: float | None, should_cancel: Callable[[], bool] | None,
              pty: bool, marker: str | None) -> int:
        deadline = time.monotonic() + timeout if timeout else None
        decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}
        pending_marker = ""

        def emit(stream: str, data: bytes) -> None:
            nonlocal marker, pending_marker
            text = decoders[stream].decode(data)
            if pty:
                text = text.replace("\r", "")
            if marker and stream == "stdout":
                pending_marker += text
                if marker not in pending_marker:
                    return
                text = pending_marker.split(marker, 1)[1].lstrip("\n")
                marker = None
                channel.sendall((self.target.password + "\n").encode())
            if text and on_output:
                on_output(stream, text)

        while True:
            if should_cancel and should_cancel():
                channel.close()
                raise CommandCancelled("cancelled; the remote command was hung up")
            if deadline and time.monotonic() > deadline:
                channel.close()
                raise CommandTimeout(f"still running after {timeout:g}s; abandoned")
            while channel.recv_ready():
                self._heard()
                emit("stdout", channel.recv(65536))
            while channel.recv_stderr_ready():
                self._heard()
                emit("stderr", channel.recv_stderr(65536))
            if channel.exit_status_ready():
                self._heard()
            try:
                self._check_alive()
            except SSHNodeSilent:
                channel.close()
                raise
            if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
                break
            select.select([channel], [], [], _POLL_SECONDS)
        status = channel.recv_exit_status()
        # paramiko reports -1 both for "killed by a signal" and "connection gone".
        if status == -1 and not channel.get_transport().is_active():
            raise SSHConnectionLost(
                f"the SSH connection to {_where(self.target)} dropped while a command was running")
        return status

    # -- files --------------------------------------------------------------
    def put_file(self, data: bytes, remote_path: str, mode: int) -> None:
        """Write ``data`` to ``remote_path`` with ``mode``, owned by root when using sudo.

        The file gets its mode before any content is written, so a key is never
        readable by others, not even for a moment.
        """
        self.put_files([(data, remote_path, mode)])

    def put_files(self, files: list[tuple[bytes, str, int]]) -> None:
        """``put_file`` for each (data, remote_path, mode), in order, over one SFTP session
        (each session is a channel and an sftp-server process on the node)."""
        self._check_alive()
        try:
            sftp = self._client.open_sftp()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if _channel_open_timed_out(exc):
                raise self._no_channel("a file transfer") from None
            raise SSHConnectionLost(f"cannot open SFTP to {_where(self.target)}: {exc}") from None
        if self.liveness.idle_timeout:
            # Each SFTP reply must come within the idle timeout: a silent node
            # fails the transfer instead of blocking it.
            sftp.get_channel().settimeout(self.liveness.idle_timeout)
        try:
            for data, remote_path, mode in files:
                self._put_one(sftp, data, remote_path, mode)
        finally:
            sftp.close()

    def _put_one(self, sftp: paramiko.SFTPClient, data: bytes, remote_path: str, mode: int) -> None:
        try:
            if not self.needs_sudo:
                self._sftp_write(sftp, remote_path, data, mode)
                return
            staging = self._mktemp()
            try:
                self._sftp_write(sftp, staging, data, 0o600)
                rc = self.run(f"install -m {mode:o} -o root -g root {shlex.quote(staging)} "
                              f"{shlex.quote(remote_path)}")
                if rc != 0:
                    raise SSHError(f"could not install {remote_path} on {_where(self.target)} (exit {rc})")
            finally:
                self._exec(f"rm -f {shlex.quote(staging)}")
        except (socket.timeout, TimeoutError):
            raise SSHNodeSilent(
                f"no answer from {_where(self.target)} for {self.liveness.idle_timeout:g}s while "
                f"writing {remote_path}: the link is down, or the node hung or lost power") from None
        except (OSError, paramiko.SSHException) as exc:
            detail = getattr(exc, "strerror", None) or str(exc)
            raise SSHError(f"could not write {remote_path} on {_where(self.target)}: {detail}") from None

    @staticmethod
    def _sftp_write(sftp: paramiko.SFTPClient, path: str, data: bytes, mode: int) -> None:
        with sftp.open(path, "wb") as handle:
            handle.chmod(mode)
            handle.write(data)

    def _mktemp(self) -> str:
        out: list[str] = []
        if self._exec("mktemp", on_output=lambda stream, text: out.append(text) if stream == "stdout" else None) != 0:
            raise SSHError(f"mktemp failed on {_where(self.target)}")
        return "".join(out).strip()

    def close(self) -> None:
        self._closed.set()
        self._client.close()

    def __enter__(self) -> "SSHConnection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

"""Execute one node run: bootstrap a server over SSH into Chef and converge it.

``execute(spec, reporter, chef)`` is called by the worker on its own thread.
A converge goes through the phases of ``contract.PHASES`` in order:

  connect    SSH in (password or key), check sudo, record the host key.
  install    chef-client present? else install it from ``spec.install``.
  register   make the node's client key pair here, create its Chef client with
             the public key (or give the existing client the new key, never a
             second client) and create/update the node object; each call is
             idempotent and retried on a slow or failing Chef server.
  configure  write client.rb, the client key (0600) and first-boot.json.
  converge   run chef-client with the environment, streaming its output.

A ``why-run`` run only connects and runs ``chef-client -W -E ENV -o RUN_LIST`` with the
node's own client.rb and key: nothing is installed, registered or written, and neither
why-run nor an override run-list saves the node object.

Connect and install come before register, so a node that cannot be reached
leaves nothing on the Chef server; if configure fails on a first run, what
register created is removed again.  A ``delete`` run removes the Chef node and
client, then tidies /etc/chef on the node if it can still be reached.

Every failure becomes one line: "node N (ADDR): PHASE failed: CAUSE; last
output: TAIL", with secrets scrubbed.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import re
import shlex
import threading
import time

from deployer.bootstrap import chef_config
from deployer.bootstrap.contract import (
    ACTIONS, CANCELLED, FAILED, SUCCEEDED, WHY_RUN, ChefInstallSource, RunReporter, RunResult,
    RunSpec)
from deployer.secrets import LineRedactor, Redactor
from deployer.bootstrap.ssh import (
    CommandCancelled, CommandTimeout, Liveness, SSHConnection, SSHError)
from deployer.chef import names
from deployer.chef.errors import ChefNotFound, ChefServerError
from deployer.chef.keys import generate_client_key
CHEF_CLIENT_PATH = "/usr/local/bin/chef-client"
TAIL_LINES = 5
TAIL_CHARS = 600
CANCEL_POLL_SECONDS = 1.0      # how often the reporter is asked about a cancel
DELETE_CONNECT_TIMEOUT = 10.0  # best-effort node clean-up must not hold a delete up
_LOG_STAMP = re.compile(r"^\[\d{4}-\d\d-\d\dT[^\]]*\]\s*")   # chef-client's "[2026-...] " prefix
# chef-client ends a failed run with "Chef Infra Client failed. ..." and then FATAL lines: the
# stacktrace notices, then the one-line summary naming the resource and its cookbook line.
_RUN_FAILED = re.compile(r"^Chef (Infra )?Client failed\b")
_FATAL = re.compile(r"^FATAL:\s*")
_FATAL_NOTICES = ("Stacktrace dumped to", "Please provide the contents of the stacktrace.out")
SUMMARY_CHARS = 300


class _PhaseFailed(Exception):
    def __init__(self, cause: str, exit_code: int | None = None):
        super().__init__(cause)
        self.exit_code = exit_code


class _Cancelled(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Throttles:
    """Limits shared by the runs of one worker on the steps that burn this host's CPU.

    None = unlimited.  A run waiting for a slot can still be cancelled.
    """
    ssh_connect: threading.Semaphore | None = None   # SSH handshakes (key exchange, auth)
    register: threading.Semaphore | None = None      # key generation + Chef registration

    @classmethod
    def of(cls, ssh_connect: int, register: int) -> "Throttles":
        return cls(threading.BoundedSemaphore(ssh_connect), threading.BoundedSemaphore(register))


def execute(spec: RunSpec, reporter: RunReporter, chef, *, node_url: str | None = None,
            liveness: Liveness = Liveness(), throttles: Throttles = Throttles()) -> RunResult:
    """Run ``spec`` to the end and say how it went; never raises for a node problem.

    ``node_url``: the Chef server URL as nodes see it (see chef_config.node_facing_url).
    ``liveness``: SSH keepalive and idle timeout; a node silent that long fails the
    phase it is in (the [runs] keepalive_interval and idle_timeout settings).
    ``throttles``: the worker's shared limits ([runs] ssh_connect_concurrency,
    register_concurrency).
    """
    return _NodeRun(spec, reporter, chef, node_url, liveness, throttles).execute()


@dataclasses.dataclass
class _Registration:
    client_key: str = ""
    created_client: bool = False
    created_node: bool = False


class _NodeRun:
    def __init__(self, spec: RunSpec, reporter: RunReporter, chef, node_url: str | None = None,
                 liveness: Liveness = Liveness(), throttles: Throttles = Throttles()):
        self.spec = spec
        self.liveness = liveness
        self.throttles = throttles
        self.node_url = node_url
        self.reporter = reporter
        self.chef = chef
        self.redactor = Redactor([spec.target.password, spec.data_bag_secret])
        self.streams = {name: LineRedactor(self.redactor) for name in ("stdout", "stderr")}
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.failure_summary: list[str] = []   # chef-client's closing FATAL lines
        self.deadline = time.monotonic() + spec.timeout
        self.phase = "validation"
        self.run_list: list[str] = []          # normalised by _validate
        self.install = spec.install or ChefInstallSource()   # None: chef-client must be present
        self.connection: SSHConnection | None = None
        self._last_cancel_check = 0.0
        self._cancel_seen = False

    # -- driver ---------------------------------------------------------------
    def execute(self) -> RunResult:
        exit_code: int | None = None
        try:
            self._validate()
            if self.spec.action == "delete":
                self._delete()
            elif self.spec.action == WHY_RUN:
                exit_code = self._why_run()
            else:
                exit_code = self._converge_run()
            return RunResult(SUCCEEDED, exit_code=exit_code)
        except _Cancelled:
            return RunResult(CANCELLED, reason=self._one_line(
                f"{self._who()}: cancelled during {self.phase}; last output: {self._tail()}"))
        except _PhaseFailed as failure:
            return RunResult(FAILED, exit_code=failure.exit_code, reason=self._reason(str(failure)))
        except Exception as exc:   # a bug or an unforeseen library error must still end the run
            return RunResult(FAILED, reason=self._reason(f"unexpected {type(exc).__name__}: {exc}"))
        finally:
            if self.connection:
                self.connection.close()

    def _validate(self) -> None:
        spec = self.spec
        try:
            names.check_node_name(spec.node_name)
            if spec.action not in ACTIONS:
                raise ValueError(f"action {spec.action!r} is not one of {', '.join(ACTIONS)}")
            if spec.action == "delete":
                return
            self.run_list = names.normalize_run_list(spec.run_list)
            if not spec.environment:
                raise ValueError("environment must be set (use _default for none)")
            if not names.is_environment_name(spec.environment):
                raise ValueError(f"environment {spec.environment!r} {names.ENVIRONMENT_NAME_RULE}")
            fingerprint = spec.target.host_key_fingerprint
            if fingerprint and not names.is_fingerprint(fingerprint):
                raise ValueError(f"host_key_fingerprint {fingerprint!r} {names.FINGERPRINT_RULE}")
            if self.install.kind not in names.INSTALL_KINDS:
                raise ValueError(f"install.kind {self.install.kind!r} is not one of "
                                 f"{', '.join(names.INSTALL_KINDS)}")
            if self.install.kind != "present" and not self.install.location:
                raise ValueError(f"install.location is required for install.kind {self.install.kind!r}")
        except ValueError as exc:
            raise _PhaseFailed(str(exc)) from None

    def _converge_run(self) -> int:
        self._enter("connect")
        self._connect(self.spec.target.connect_timeout)
        self._enter("install")
        self._install()
        self._enter("register")
        registration = self._register()
        self._enter("configure", on_cancel=lambda: self._unregister(registration))
        try:
            self._configure(registration.client_key)
        except BaseException:
            self._unregister(registration)
            raise
        self._enter("converge", on_cancel=lambda: self._unregister(registration))
        return self._converge()

    # -- phases ---------------------------------------------------------------
    def _connect(self, timeout: float) -> None:
        target = dataclasses.replace(self.spec.target, connect_timeout=min(timeout, self._remaining()))
        if target.user != "root" and not target.sudo:
            raise _PhaseFailed(f"user {target.user} is not root and sudo is off; the bootstrap "
                               "writes /etc/chef and must run as root (set sudo)")
        try:
            with self._slot(self.throttles.ssh_connect):
                self.connection = SSHConnection.open(target, self.liveness)
        except SSHError as exc:
            raise _PhaseFailed(str(exc)) from None
        how = " (root through sudo)" if self.connection.needs_sudo else ""
        self._note(f"connected to {target.address}:{target.port} as {target.user}{how}; "
                   f"host key {self.connection.host_key_fingerprint}")

    def _install(self) -> None:
        # Present on the PATH is knife bootstrap's test, before and after installing: running it
        # (--version) loads all of chef-client, 0.3-0.4 s of the node's CPU (a third of a fresh
        # node's converge in the 100-node bench), which the converge pays again right after and
        # which fails loudly there if the program does not run.
        if self._run("command -v chef-client") == 0:
            self._note("chef-client is already installed")
            return
        source = self.install
        if source.kind == "present":
            raise _PhaseFailed("chef-client is not installed on the node and install.kind is "
                               "'present'; install it first or choose copy, url or command")
        self._note(f"chef-client missing; installing it ({source.kind}: {source.location})")
        if source.kind == "copy":
            try:
                with open(source.location, "rb") as handle:
                    program = handle.read()
            except OSError as exc:
                raise _PhaseFailed(f"install.location {source.location}: {exc.strerror}") from None
            self._put(program, CHEF_CLIENT_PATH, 0o755)
        else:
            command = self._url_installer(source.location) if source.kind == "url" else source.location
            rc = self._run(command)
            if rc != 0:
                raise _PhaseFailed(f"the chef-client installer ({source.kind}) exited with status {rc}")
        if self._run("command -v chef-client") != 0:
            raise _PhaseFailed("chef-client is still not on the PATH after installing it")

    @staticmethod
    def _url_installer(url: str) -> str:
        """Download an installer script (omnitruck install.sh style) on the node and run it."""
        quoted = shlex.quote(url)
        return (
            'set -e; script=$(mktemp); trap \'rm -f "$script"\' EXIT; '
            f'if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 2 -o "$script" {quoted}; '
            f'elif command -v wget >/dev/null 2>&1; then wget -q -O "$script" {quoted}; '
            'else echo "neither curl nor wget is installed on the node" >&2; exit 127; fi; '
            'sh "$script"')

    def _register(self) -> _Registration:
        with self._slot(self.throttles.register):
            return self._register_now()

    def _register_now(self) -> _Registration:
        spec, chef, registration = self.spec, self.chef, _Registration()
        try:
            if spec.environment != "_default":
                try:
                    chef.get_environment(spec.environment)
                except ChefNotFound:
                    raise _PhaseFailed(f"Chef environment {spec.environment} does not exist "
                                       "on the Chef server") from None
            keys = generate_client_key()       # deployer side; only the public key travels
            registration.client_key = keys.private_pem
            registration.created_client = chef.register_client(spec.node_name, keys.public_pem)
            self._note(f"Chef client {spec.node_name} created" if registration.created_client
                       else f"Chef client {spec.node_name} exists: rekeyed")
            registration.created_node = chef.register_node(spec.node_name, spec.environment,
                                                           self.run_list)
            self._note(f"Chef node {spec.node_name} "
                       f"{'created' if registration.created_node else 'updated'}: environment "
                       f"{spec.environment}, run_list {', '.join(self.run_list)}")
        except ChefServerError as exc:
            self._unregister(registration)
            raise _PhaseFailed(f"Chef server: {exc}") from None
        return registration

    def _unregister(self, registration: _Registration) -> None:
        """Undo what this run's register created, so a failed first run leaves nothing."""
        for created, kind, delete in (
                (registration.created_node, "node", self.chef.delete_node),
                (registration.created_client, "client", self.chef.delete_client)):
            if not created:
                continue
            try:
                delete(self.spec.node_name)
                self._note(f"removed the Chef {kind} {self.spec.node_name} this run created")
            except ChefNotFound:
                pass
            except ChefServerError as exc:
                self._note(f"could not remove the Chef {kind} {self.spec.node_name}: {exc}")
        registration.created_node = registration.created_client = False

    def _configure(self, client_key: str) -> None:
        server_url = self.spec.chef_server_url or chef_config.node_facing_url(
            self.chef.url, self.node_url, self.connection.local_address)
        dirs = " ".join(shlex.quote(d) for d in (
            chef_config.CHEF_DIR, chef_config.LOG_DIR, chef_config.CACHE_DIR, chef_config.BACKUP_DIR))
        secret = self.spec.data_bag_secret
        # one command and one file transfer: each is a channel and a process on the node
        stale_secret = "" if secret else f" && rm -f {chef_config.DATA_BAG_SECRET}"   # another environment's
        if self._run(f"mkdir -p {dirs}{stale_secret}") != 0:
            raise _PhaseFailed(f"could not create {chef_config.CHEF_DIR} and {chef_config.LOG_DIR}"
                               + ("" if secret else f" or remove {chef_config.DATA_BAG_SECRET}"))
        files = [(client_key.encode(), chef_config.CLIENT_KEY, 0o600)]
        if secret:
            files.append((secret.encode(), chef_config.DATA_BAG_SECRET, 0o600))
        files += [(chef_config.render_client_rb(server_url, self.spec.node_name,
                                                data_bag_secret=bool(secret)).encode(),
                   chef_config.CLIENT_RB, 0o644),
                  (chef_config.render_first_boot(self.run_list).encode(), chef_config.FIRST_BOOT, 0o644)]
        self._put_files(files)
        written = f", {chef_config.DATA_BAG_SECRET}" if secret else ""
        self._note(f"wrote {chef_config.CLIENT_RB} (server {server_url}), {chef_config.CLIENT_KEY}"
                   f"{written} and {chef_config.FIRST_BOOT}")

    def _converge(self) -> int:
        command = (f"chef-client -E {shlex.quote(self.spec.environment)} "
                   f"-j {chef_config.FIRST_BOOT} --no-color")
        self._note(f"running: {command}")
        # A terminal, so that cancel (closing the channel) hangs chef-client up.
        rc = self._run(command, pty=True)
        if rc == -1:
            raise _PhaseFailed("chef-client was killed by a signal", exit_code=rc)
        if rc != 0:
            raise _PhaseFailed(self._converge_failure(rc), exit_code=rc)
        self._note("chef-client finished successfully")
        return rc

    def _why_run(self) -> int:
        """What a converge in ``spec.environment`` would change; the node keeps its files."""
        self._enter("connect")
        self._connect(self.spec.target.connect_timeout)
        self._enter("converge")
        converged = (f"command -v chef-client >/dev/null 2>&1 && test -s {chef_config.CLIENT_RB} "
                     f"&& test -s {chef_config.CLIENT_KEY}")
        if self._run(converged) != 0:
            raise _PhaseFailed(f"the node has no chef-client, {chef_config.CLIENT_RB} or client "
                               f"key: it was never converged, and a why-run writes nothing")
        command = (f"chef-client -W -E {shlex.quote(self.spec.environment)} "
                   f"-o {shlex.quote(','.join(self.run_list))} --no-color")
        self._note(f"running: {command}")
        rc = self._run(command, pty=True)
        if rc != 0:
            raise _PhaseFailed(self._converge_failure(rc, "chef-client -W"), exit_code=rc)
        self._note("chef-client -W finished: nothing was changed")
        return rc

    def _delete(self) -> None:
        self._enter("register")
        name = self.spec.node_name
        try:
            existed = self.chef.remove_node(name)
        except ChefServerError as exc:
            raise _PhaseFailed(f"Chef server: {exc}") from None
        for kind, was_there in existed.items():
            self._note(f"removed the Chef {kind} {name}" if was_there
                       else f"the Chef {kind} {name} was already gone")
        self._enter("configure")
        try:
            self._connect(min(self.spec.target.connect_timeout, DELETE_CONNECT_TIMEOUT))
            files = " ".join((chef_config.CLIENT_KEY, chef_config.CLIENT_RB, chef_config.FIRST_BOOT,
                              chef_config.DATA_BAG_SECRET))
            if self._run(f"rm -f {files}") != 0:
                raise _PhaseFailed(f"rm -f {files} failed")
            self._note(f"removed the Chef client files from {self.spec.target.address}")
        except _PhaseFailed as failure:
            self._note(f"left the node's {chef_config.CHEF_DIR} as it is (best effort): {failure}")

    # -- helpers --------------------------------------------------------------
    def _enter(self, phase: str, on_cancel=None) -> None:
        if self._should_cancel(force=True):
            if on_cancel:
                on_cancel()
            raise _Cancelled()
        if self._remaining() <= 0:
            raise _PhaseFailed(f"the run exceeded its time limit of {self.spec.timeout:g}s")
        self.phase = phase
        self.tail.clear()          # a failure's "last output" is its own phase's output
        self.reporter.phase(phase)

    @contextlib.contextmanager
    def _slot(self, semaphore: threading.Semaphore | None):
        """Hold one of the worker's slots for a CPU-heavy step; wait cancellably."""
        if semaphore is None:
            yield
            return
        while not semaphore.acquire(timeout=CANCEL_POLL_SECONDS):
            if self._should_cancel(force=True):
                raise _Cancelled()
            if self._remaining() <= 0:
                raise _PhaseFailed(f"the run exceeded its time limit of {self.spec.timeout:g}s "
                                   f"waiting for a free {self.phase} slot")
        try:
            yield
        finally:
            semaphore.release()

    def _should_cancel(self, force: bool = False) -> bool:
        now = time.monotonic()
        if not self._cancel_seen and (force or now - self._last_cancel_check >= CANCEL_POLL_SECONDS):
            self._last_cancel_check = now
            self._cancel_seen = bool(self.reporter.cancelled())
        return self._cancel_seen

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _run(self, command: str, *, pty: bool = False) -> int:
        try:
            return self.connection.run(command, on_output=self._output, timeout=max(self._remaining(), 0.1),
                                       pty=pty, should_cancel=self._should_cancel)
        except CommandCancelled:
            raise _Cancelled() from None
        except CommandTimeout:
            raise _PhaseFailed(f"the run exceeded its time limit of {self.spec.timeout:g}s") from None
        except SSHError as exc:
            raise _PhaseFailed(str(exc)) from None
        finally:
            for stream, redactor in self.streams.items():
                self._report(stream, redactor.flush())

    def _put(self, data: bytes, path: str, mode: int) -> None:
        self._put_files([(data, path, mode)])

    def _put_files(self, files: list[tuple[bytes, str, int]]) -> None:
        try:
            self.connection.put_files(files)
        except SSHError as exc:
            raise _PhaseFailed(str(exc)) from None

    def _output(self, stream: str, text: str) -> None:
        self._report(stream, self.streams[stream].feed(text))

    def _report(self, stream: str, text: str) -> None:
        if not text:
            return
        for line in text.splitlines():
            line = _LOG_STAMP.sub("", line).strip()
            if any(char.isalnum() for char in line):     # skip blank and ===== rule lines
                self.tail.append(line)
                self._collect_failure_summary(line)
        self.reporter.output(stream, text)

    def _collect_failure_summary(self, line: str) -> None:
        if _RUN_FAILED.match(line):
            self.failure_summary = []
        elif _FATAL.match(line):
            text = _FATAL.sub("", line)
            if not text.startswith(_FATAL_NOTICES):
                self.failure_summary.append(text)

    def _converge_failure(self, rc: int, program: str = "chef-client") -> str:
        """'chef-client exited with status N: <its summary>', so the resource and cookbook
        line lead the reason (Heat keeps only the first 255 characters of an event's)."""
        summary = " | ".join(self.failure_summary[:3])
        if len(summary) > SUMMARY_CHARS:
            summary = summary[:SUMMARY_CHARS] + "..."
        return f"{program} exited with status {rc}" + (f": {summary}" if summary else "")

    def _note(self, message: str) -> None:
        """The runner's own progress lines, marked so they stand out from node output."""
        self.reporter.output("stdout", self.redactor.scrub(f"[deployer] {message}") + "\n")

    def _who(self) -> str:
        return f"node {self.spec.node_name} ({self.spec.target.address})"

    def _tail(self) -> str:
        text = " | ".join(self.tail) or "(none)"
        return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]

    def _reason(self, cause: str) -> str:
        return self._one_line(f"{self._who()}: {self.phase} failed: {cause}; last output: {self._tail()}")

    def _one_line(self, text: str) -> str:
        return " ".join(self.redactor.scrub(text).split())

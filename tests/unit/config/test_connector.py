"""The node connector: the argv each shell builds, run / put / get through real processes, timeouts, the fake.

SshShell and NetnsShell are driven through stand-ins for ``ssh`` and ``ip`` put first on PATH: small shell
scripts that log their argv and run the command on this host the way the real clients run it on the node
(ssh hands the words after the destination, joined by spaces, to the remote shell; ``ip netns exec`` runs
its argv). Everything on this side (quoting, stdin, the put's rename, the get's bytes, the kill on a
timeout) is the real code path.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import tripleo.nodeshell as nodeshell
from tripleo.errors import OperationError
from tripleo.nodeshell import Call, FakeShell, NetnsShell, NodeShell, Result, ShellTimeout, SshShell

KEY = Path("/home/u/.local/share/tripleo/ssh/id_ed25519")
FIXED = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
         "-o", "LogLevel=ERROR"]  # fmt: skip

# (shell, command, the argv it runs here)
ARGV_CASES = [
    (SshShell("192.0.2.5", KEY), "hostname",
     ["ssh", "-i", str(KEY), *FIXED, "-o", "ConnectTimeout=10", "root@192.0.2.5", "hostname"]),
    # an argv is quoted for the remote shell (ssh joins its words with spaces)
    (SshShell("192.0.2.5", None, connect_timeout=5), ["ping", "-6", "-c", "1", "fd00::5"],
     ["ssh", *FIXED, "-o", "ConnectTimeout=5", "root@192.0.2.5", "ping -6 -c 1 fd00::5"]),
    (SshShell("192.0.2.5", KEY, user="heat-admin", options=["Port=2222"]), ["cat", "--", "/etc/a b"],
     ["ssh", "-i", str(KEY), *FIXED, "-o", "ConnectTimeout=10", "-o", "Port=2222", "heat-admin@192.0.2.5",
      "cat -- '/etc/a b'"]),
    # in a namespace an argv runs as is; a command line goes to sh
    (NetnsShell("tl-node-0"), ["ping", "-4", "-c", "1", "192.0.2.9"],
     ["ip", "netns", "exec", "tl-node-0", "ping", "-4", "-c", "1", "192.0.2.9"]),
    (NetnsShell("tl-node-0"), "echo a && echo b",
     ["ip", "netns", "exec", "tl-node-0", "sh", "-c", "echo a && echo b"]),
]  # fmt: skip


@pytest.mark.parametrize(("shell", "command", "argv"), ARGV_CASES)
def test_the_argv_each_shell_builds(shell: SshShell | NetnsShell, command: str | list[str],
                                    argv: list[str]) -> None:  # fmt: skip
    assert shell.argv(command) == argv


def test_names_and_the_protocol() -> None:
    assert SshShell("192.0.2.5").name == "192.0.2.5"
    assert NetnsShell("tl-node-0").name == "netns tl-node-0"
    assert FakeShell("controller-0").name == "controller-0"
    for shell in (SshShell("192.0.2.5"), NetnsShell("n"), FakeShell()):
        assert isinstance(shell, NodeShell)


def test_all_is_complete() -> None:
    public = {n for n, v in vars(nodeshell).items() if not n.startswith("_") and getattr(v, "__module__", "")
              == nodeshell.__name__}  # fmt: skip
    assert public <= set(nodeshell.__all__)
    assert all(hasattr(nodeshell, name) for name in nodeshell.__all__)


_SSH = """#!/bin/sh
printf '%s\\n' "$*" >> "$SHIM_LOG"
while [ $# -gt 0 ]; do case "$1" in -i|-o) shift 2;; *) break;; esac; done
shift
exec sh -c "$*"
"""
_IP = """#!/bin/sh
printf '%s\\n' "$*" >> "$SHIM_LOG"
[ "$1 $2" = "netns exec" ] || exit 99
shift 3
exec "$@"
"""


@pytest.fixture
def shims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``ssh`` and ``ip`` stand-ins first on PATH; returns their log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("ssh", _SSH), ("ip", _IP)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "shim.log"
    monkeypatch.setenv("SHIM_LOG", str(log))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return log


@pytest.mark.parametrize("shell", [SshShell("192.0.2.5", KEY), NetnsShell("tl-node-0")], ids=["ssh", "netns"])
def test_run_gives_the_exit_code_output_and_stdin(shims: Path, shell: SshShell | NetnsShell) -> None:
    assert shell.run(["printf", "%s|", "a b", "$HOME;x"]) == Result(0, "a b|$HOME;x|", "")
    done = shell.run("echo out; echo err >&2; exit 3")
    assert (done.returncode, done.stdout, done.stderr, done.ok) == (3, "out\n", "err\n", False)
    assert shell.run("tr a-z A-Z", stdin="node\n").stdout == "NODE\n"
    assert shell.run(["cat"]).stdout == ""  # no stdin given: /dev/null, never this process's input
    assert shell.run(["printf", "\\377ok"]).stdout == "\ufffdok"  # bad UTF-8 replaced, not an error
    # the client got the argv the shell builds (the log has its words joined by spaces)
    assert shims.read_text().splitlines()[0] == " ".join(shell.argv(["printf", "%s|", "a b", "$HOME;x"])[1:])


@pytest.mark.parametrize("shell", [SshShell("192.0.2.5", KEY), NetnsShell("tl-node-0")], ids=["ssh", "netns"])
def test_put_then_get_round_trips_bytes_with_the_mode(shims: Path, tmp_path: Path,
                                                      shell: SshShell | NetnsShell) -> None:  # fmt: skip
    target = tmp_path / "node" / "etc" / "some file"
    target.parent.mkdir(parents=True)
    data = bytes(range(256)) * 3
    shell.put(data, str(target), mode=0o600)
    assert target.read_bytes() == data and target.stat().st_mode & 0o777 == 0o600
    assert shell.get(str(target)) == data
    local = tmp_path / "local"
    local.write_bytes(b"second\n")
    shell.put(local, str(target))
    assert target.read_bytes() == b"second\n" and target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["some file"]  # nothing left aside


@pytest.mark.parametrize("shell", [SshShell("192.0.2.5", KEY), NetnsShell("tl-node-0")], ids=["ssh", "netns"])
def test_put_and_get_failures_name_the_node_and_the_file(shims: Path, tmp_path: Path,
                                                         shell: SshShell | NetnsShell) -> None:  # fmt: skip
    missing = tmp_path / "no" / "such"
    with pytest.raises(
        OperationError, match=rf"^{shell.name}: cannot write {missing}: .*(No such file|nonexistent)"
    ):
        shell.put(b"x", str(missing))
    with pytest.raises(OperationError, match=rf"^{shell.name}: cannot read {missing}: .*No such file"):
        shell.get(str(missing))
    with pytest.raises(OperationError, match=r"^cannot read .*nothing-here: No such file"):
        shell.put(tmp_path / "nothing-here", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_a_command_past_its_timeout_is_killed_and_named(shims: Path) -> None:
    shell = SshShell("192.0.2.5", KEY)
    started = time.monotonic()
    with pytest.raises(ShellTimeout, match=r"^192\.0\.2\.5: sleep did not finish within 0\.5 s$") as caught:
        shell.run("sleep 30 && echo s3cr3t", timeout=0.5)
    assert time.monotonic() - started < 10
    assert (caught.value.shell, caught.value.program, caught.value.timeout) == ("192.0.2.5", "sleep", 0.5)
    assert "s3cr3t" not in str(caught.value)  # the command itself is never in the message
    assert isinstance(caught.value, OperationError)
    with pytest.raises(ShellTimeout, match=r"^netns n: a shell command did not finish within 0\.3 s$"):
        NetnsShell("n").run("x=$(sleep 30)", timeout=0.3)  # a line that starts with no program


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie waiting for its reaper is gone too


def test_a_timeout_leaves_nothing_running(shims: Path, tmp_path: Path) -> None:
    """The client and what it started go together (the lab's namespace shells start children)."""
    pidfile = tmp_path / "pid"
    with pytest.raises(ShellTimeout):
        NetnsShell("n").run(f"sleep 30 & echo $! > {pidfile}; wait", timeout=0.5)
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)


def test_a_missing_client_is_an_operation_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OperationError, match=r"^192\.0\.2\.5: cannot run ssh: No such file"):
        SshShell("192.0.2.5").run("true")
    with pytest.raises(OperationError, match=r"^netns n: cannot run ip: No such file"):
        NetnsShell("n").run("true")


def test_the_fake_answers_from_its_table_and_records_every_call() -> None:
    hang = ShellTimeout("n1", "sleep", 5)
    shell = FakeShell("n1", {
        "hostname": Result(0, "n1\n"),
        "cat -- '/etc/a b'": Result(1, "", "cat: /etc/a b: No such file or directory\n"),
        "sleep 9": hang,
        "tr a-z A-Z": lambda call: Result(0, (call.stdin or b"").decode().upper()),
    })  # fmt: skip
    assert shell.run("hostname") == Result(0, "n1\n")
    assert shell.run(["cat", "--", "/etc/a b"]).returncode == 1  # an argv is matched as shlex.join writes it
    assert shell.run("tr a-z A-Z", stdin="x", timeout=3).stdout == "X"
    with pytest.raises(ShellTimeout) as caught:
        shell.run("sleep 9")
    assert caught.value is hang
    with pytest.raises(OperationError, match=r"^n1: the fake shell has no answer for 'reboot'$"):
        shell.run("reboot")
    assert shell.commands == ["hostname", "cat -- '/etc/a b'", "tr a-z A-Z", "sleep 9", "reboot"]
    assert shell.calls[2] == Call("tr a-z A-Z", b"x", 3)
    assert FakeShell(default=Result(0)).run("anything") == Result(0)


def test_the_fake_keeps_files(tmp_path: Path) -> None:
    shell = FakeShell("n1", files={"/etc/hostname": b"n1\n"})
    assert shell.get("/etc/hostname") == b"n1\n"
    shell.put(b"\x00\x01", "/var/lib/x", mode=0o600)
    local = tmp_path / "f"
    local.write_bytes(b"from disk")
    shell.put(local, "/etc/y")
    assert (shell.files["/var/lib/x"], shell.modes) == (b"\x00\x01", {"/var/lib/x": 0o600, "/etc/y": 0o644})
    assert shell.get("/etc/y") == b"from disk"
    with pytest.raises(OperationError, match=r"^n1: cannot read /nope: No such file"):
        shell.get("/nope")

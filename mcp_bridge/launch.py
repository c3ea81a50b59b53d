"""Supervisor of one module run: the command ansible-runner starts instead of `ansible` itself.

Run by file path (``python -I -S launch.py PARENT_PID DATA_DIR NONCE ANSIBLE ARGS...``); standard library only.

1. **Credentials without a trace on disk.** ansible-runner writes the environment it starts a run with into
   ``artifacts/<ident>/command`` (runner.py ``Runner.run``), so the run's environment holds no secret. The
   launcher prints a prompt naming this run's nonce on its terminal (the pty ansible-runner reads) and reads one
   JSON line back: ansible-runner answers prompts from its in-memory ``passwords`` (``expect_passwords``) and
   writes them nowhere. Echo is off, so the answer never shows in the run's output. The values go into the
   environment of `ansible` only (the modules read them through their ``PROXMOX_*`` fallbacks).
2. **No run outlives the bridge.** The launcher asks the kernel for SIGTERM when the bridge dies
   (``PR_SET_PDEATHSIG``), becomes the child subreaper of the run (``PR_SET_CHILD_SUBREAPER``: ansible's workers
   call setsid(), but stay below it); where that signal is not available it polls its parent. On SIGTERM, SIGINT, SIGHUP or the death of the
   bridge it kills every process below it and removes the run's data dir. ansible-runner's own cancel
   (SIGKILL to this process group) is backed by the bridge killing what remains (runner.kill_processes_using).
"""

import ctypes
import json
import os
import shutil
import signal
import sys
import termios
import time

PROMPT = "pve-config-mcp launch {nonce}: credentials? "
ALLOWED = ("PROXMOX_TOKEN_SECRET", "PROXMOX_PASSWORD")
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
POLL = 0.1


def prctl(option, value):
    """True when the kernel took the setting (Linux); False elsewhere, where the parent is polled instead."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def descendants(root):
    """PIDs of every live process below `root` (by parent pid, read from /proc)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), ()):
            found.append(pid)
            todo.append(pid)
    return found


def kill_tree():
    for _attempt in range(3):  # processes may fork while we kill: repeat until nothing is left
        pids = descendants(os.getpid())
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        reap()


def reap():
    """Collect exited children (the subreaper inherits orphans); returns {pid: status}."""
    done = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done[pid] = status


def read_credentials(nonce):
    fd = sys.stdin.fileno()
    if os.isatty(fd):
        attrs = termios.tcgetattr(fd)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    sys.stdout.write(PROMPT.format(nonce=nonce) + "\n")
    sys.stdout.flush()
    line = sys.stdin.readline()
    values = json.loads(line) if line.strip() else {}
    if not isinstance(values, dict) or set(values) - set(ALLOWED):
        raise SystemExit("pve-config-mcp launch: unexpected credentials answer")
    return {str(k): str(v) for k, v in values.items()}


def wait_for(child, parent, armed):
    """The exit status of `child`, reaping every orphan of the run meanwhile. With the parent-death signal armed
    this blocks in waitpid (the signal's handler ends the launcher); otherwise it polls the parent."""
    while True:
        if armed:
            pid, status = os.waitpid(-1, 0)
            if pid == child:
                return status
            continue
        status = reap().get(child)
        if status is not None:
            return status
        if os.getppid() != parent:
            return None
        time.sleep(POLL)


def main(argv):
    parent, data_dir, nonce, command = int(argv[1]), argv[2], argv[3], argv[4:]
    armed = prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    prctl(PR_SET_CHILD_SUBREAPER, 1)

    def stop(signum=None, frame=None):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kill_tree()
        shutil.rmtree(data_dir, ignore_errors=True)
        os._exit(128 + (signum or signal.SIGTERM))

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    if os.getppid() != parent:  # the bridge died before PDEATHSIG was armed
        stop()
    env = {**os.environ, **read_credentials(nonce)}
    child = os.posix_spawnp(command[0], command, env)  # the command ansible-runner built
    status = wait_for(child, parent, armed)
    if status is None:  # the bridge died
        stop()
    kill_tree()  # nothing of the run may stay behind
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main(sys.argv)

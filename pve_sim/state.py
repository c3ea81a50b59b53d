# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""The simulator's in-memory model of a small Proxmox VE cluster.

Everything a request can see or change lives in one :class:`State` guarded by one
re-entrant lock: nodes, storages (per node; shared storages share their volume table),
volumes, guests (config as an ordered dict of raw strings, the ``[PENDING]`` section,
pending deletes) and tasks.  The guest ``digest`` is the SHA-1 of the config file text
PVE would write (``PVE::QemuServer::write_vm_config`` layout), so it changes with every
config change, the pending section included.

Time only moves when somebody looks: :meth:`State.advance` (called at the start of every
request) finishes tasks whose time is up and removes expired fault locks.
"""

import contextlib
import copy
import dataclasses
import hashlib
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from .errors import ApiError, FormatDie, HandlerError
from .faults import Faults, is_ok_status
from .storage_sizes import allocated_bytes, resized_bytes
from .validation import format_size

GiB = 1024**3


@dataclass
class Node:
    name: str
    maxcpu: int = 16
    maxmem: int = 64 * GiB
    maxdisk: int = 100 * GiB
    online: bool = True


@dataclass
class Volume:
    volid: str
    name: str
    size: int
    format: str
    content: str
    vmid: int = None
    ctime: int = 0


@dataclass
class Storage:
    id: str
    type: str
    content: list
    node: str
    enabled: bool = True
    shared: bool = False
    total: int = 100 * GiB
    volumes: dict = field(default_factory=dict)  # volid -> Volume (the same dict on every node if shared)

    @property
    def used(self):
        return sum(v.size for v in self.volumes.values())

    @property
    def avail(self):
        return max(self.total - self.used, 0)

    @property
    def path_based(self):
        return self.type in ("dir", "nfs", "cifs", "cephfs", "glusterfs", "btrfs")

    def default_format(self):
        return "qcow2" if self.path_based else "raw"


def _encode_text(text):
    # PVE::ParseUtils::encode_text: escape control/hi-bit chars, ':' and '%'
    safe = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in ":%")
    return urllib.parse.quote(text.encode("utf-8"), safe=safe)


def print_pending_delete(pending_delete):
    return ",".join(("!" if pending_delete[k] else "") + k for k in sorted(pending_delete))


@dataclass
class Guest:
    vmid: int
    kind: str  # qemu | lxc
    node: str
    status: str = "stopped"
    config: dict = field(default_factory=dict)
    pending: dict = field(default_factory=dict)
    pending_delete: dict = field(default_factory=dict)  # key -> force (bool)
    snapshots: dict = field(default_factory=dict)  # name -> config of that snapshot (``[name]`` sections)
    cloudinit: dict = None  # the ``[special:cloudinit]`` section (QEMU; handlers/cloudinit.py), None: none
    started_at: float = 0.0
    lock_expires: float = None
    pid: int = 0

    @property
    def name(self):
        if self.kind == "lxc":
            return self.config.get("hostname") or "CT%d" % self.vmid
        return self.config.get("name") or "VM %d" % self.vmid

    @property
    def lock(self):
        return self.config.get("lock")

    @property
    def type_label(self):
        """``guest_type()`` of PVE::QemuConfig / PVE::LXC::Config."""
        return "VM" if self.kind == "qemu" else "CT"

    @property
    def config_path(self):
        sub = "qemu-server" if self.kind == "qemu" else "lxc"
        return "nodes/%s/%s/%d.conf" % (self.node, sub, self.vmid)

    def raw_config(self):
        """The config file text, like write_vm_config / write_pct_config lay it out."""

        def section(conf, pending):
            raw = ""
            descr = conf.get("description")
            if descr is not None:
                if descr:
                    for line in descr.split("\n"):
                        raw += "#" + _encode_text(line) + "\n"
                elif pending:
                    raw += "#\n"
            for key in sorted(conf):
                if key == "description":
                    continue
                raw += "%s: %s\n" % (key, conf[key])
            return raw

        raw = section(self.config, False)
        pending = dict(self.pending)
        if self.pending_delete:
            pending["delete"] = print_pending_delete(self.pending_delete)
        if pending:
            raw += "\n[PENDING]\n" + section(pending, True)
        if self.cloudinit is not None:  # qemu-server QemuServer.pm write_vm_config: special sections
            raw += "\n[special:cloudinit]\n" + section(self.cloudinit, False)
        for name in sorted(self.snapshots):
            raw += "\n[%s]\n" % name + section(self.snapshots[name], False)
        return raw

    @property
    def digest(self):
        return hashlib.sha1(self.raw_config().encode("utf-8")).hexdigest()

    def merged_config(self, current=False):
        """``load_current_config``: pending values applied and pending deletes removed,
        unless ``current``."""
        conf = dict(self.config)
        if not current:
            conf.update(self.pending)
            for key in self.pending_delete:
                conf.pop(key, None)
        return conf


@dataclass
class Task:
    upid: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    started: float
    duration: float = 0.0
    log: list = field(default_factory=list)
    status: str = "running"
    exitstatus: str = None
    endtime: int = None
    action: object = None  # callable(task) run when the task ends; may raise ApiError
    forced_exit: str = None  # injected exitstatus
    vmids: tuple = None  # guests the action may change (None: any)
    rollback: bool = True  # undo the action's changes when it fails (False: partial writes stay)
    error: Exception = None  # what the action raised

    def to_status(self):
        user, tokenid = split_user(self.user)
        out = {
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.type,
            "id": self.id,
            "user": user,
            "status": self.status,
        }
        if tokenid:
            out["tokenid"] = tokenid
        if self.status == "stopped":
            out["exitstatus"] = self.exitstatus
        return out


def split_user(user):
    if "!" in user:
        u, token = user.split("!", 1)
        return u, token
    return user, None


def encode_upid(node, pid, pstart, starttime, type_, id_, user):
    return "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (node, pid, pstart, starttime, type_, id_, user)


def task_error_text(exc):
    """How fork_worker turns a worker's exception into the ``TASK ERROR:`` text."""
    if isinstance(exc, ApiError):
        # PVE::Exception stringification: "<code> <msg>" when a code is set, then "key: error" lines
        text = exc.message if exc.status == 500 else "%d %s" % (exc.status, exc.message)
        for key in sorted(exc.errors or {}):
            text += "%s: %s\n" % (key, exc.errors[key])
    elif isinstance(exc, FormatDie):
        text = exc.perl_string()
    else:
        text = str(exc)
    return text.rstrip("\n").replace("\n", " ")


class State:
    """All simulated objects, one lock."""

    def __init__(self, clock=time.time):
        self.lock = threading.RLock()
        self.clock = clock
        self.faults = Faults()
        self.nodes = {}
        self.storages = {}  # (node, storage id) -> Storage
        self.guests = {}  # vmid -> Guest
        self.pools = {}  # poolid -> {"comment": str | None, "vms": set of vmids} (user.cfg pools, handlers/pools.py)
        self.tasks = {}  # upid -> Task, insertion ordered
        self._pid = 0x00100000
        self._boot = clock() - 86400 * 3
        self._running = {}  # upid -> Task still running
        self._lock_expiry = {}  # vmid -> time a fault lock goes away
        self._flock_until = {}  # vmid -> time the config flock is released (work still running)
        self.realism = False  # behave like the Proxmox sources where the ideal case differs (docs/simulator.md)
        self.rrd = {}  # vmid -> {"name", "status"} as pvestatd last broadcast them (see pvestatd_tick)
        self.pvestatd_ticks = 0
        self.pvestatd_interval = None  # seconds between automatic ticks with realism (None: only explicit ones)
        self._last_tick = clock()

    # -- time ---------------------------------------------------------------------------------

    def now(self):
        return self.clock()

    def advance(self):
        """Finish due tasks, release expired fault locks (both kept in small indexes)."""
        with self.lock:
            now = self.now()
            for vmid, expires in list(self._lock_expiry.items()):
                if now >= expires:
                    del self._lock_expiry[vmid]
                    guest = self.guests.get(vmid)
                    if guest is not None and guest.lock_expires is not None:
                        guest.lock_expires = None
                        guest.config.pop("lock", None)
            for task in sorted(self._running.values(), key=lambda t: t.started + t.duration):
                if now >= task.started + task.duration:
                    self._finish_task(task)
            if self.realism and self.pvestatd_interval and now - self._last_tick >= self.pvestatd_interval:
                # pvestatd's main loop runs an update round every $updatetime = 10 s (PVE/Service/pvestatd.pm)
                self.pvestatd_tick()

    def pvestatd_tick(self):
        """One pvestatd update round: every guest's current name and status become what
        ``/cluster/resources`` reports (pve-manager PVE/Service/pvestatd.pm update_qemu_status /
        update_lxc_status broadcast them as RRD data; PVE/API2/Cluster.pm resources reads that)."""
        with self.lock:
            self.rrd = {vmid: {"name": g.name, "status": g.status} for vmid, g in self.guests.items()}
            self.pvestatd_ticks += 1
            self._last_tick = self.now()
            return self.pvestatd_ticks

    def pool_members(self):
        """``{vmid: poolid}``: user.cfg's reverse index of the pools (a guest is in at most one pool)."""
        with self.lock:
            return {vmid: poolid for poolid, pool in self.pools.items() for vmid in pool["vms"]}

    # -- nodes / storages / volumes -----------------------------------------------------------

    def node(self, name):
        return self.nodes.get(name)

    def storage(self, node, sid):
        return self.storages.get((node, sid))

    def storage_defined(self, sid):
        return any(s == sid for (_node, s) in self.storages)

    def node_storages(self, node):
        return [s for (n, _sid), s in self.storages.items() if n == node]

    def storage_config(self, node, sid):
        """``PVE::Storage::storage_config`` (cluster wide) + the node's instance, or die."""
        if not self.storage_defined(sid):
            raise HandlerError("storage '%s' does not exist" % sid)
        return self.storage(node, sid)

    def check_enabled(self, node, sid):
        """``storage_check_enabled`` on ``node``: exists, enabled, available on the node."""
        st = self.storage_config(node, sid)
        any_instance = st or next(s for (_node, i), s in self.storages.items() if i == sid)
        if not any_instance.enabled:
            raise HandlerError("storage '%s' is disabled" % sid)
        if st is None:
            raise HandlerError("storage '%s' is not available on node '%s'" % (sid, node))
        return st

    def find_volume(self, node, volid):
        sid = volid.split(":", 1)[0]
        st = self.storage(node, sid)
        if st is None:
            return None
        return st.volumes.get(volid)

    def alloc_volume(self, node, sid, vmid, size, fmt=None, content="images", name=None):
        """``vdisk_alloc`` with the plugin's ``find_free_diskname``: ``vm-<vmid>-disk-<N>`` (``subvol-`` for a
        ZFS subvol), lowest N not yet used on that storage for this vmid.  ``size`` in bytes (whole KiB, as
        ``alloc_image`` takes KiB); with realism the volume gets the size the plugin really allocates.  ``name``:
        the name ``vdisk_alloc`` was given (a cloud-init drive's ``vm-<vmid>-cloudinit``), taken as it is."""
        st = self.check_enabled(node, sid)
        fmt = fmt or st.default_format()
        used = {v.name.split("/")[-1].split(".")[0] for v in st.volumes.values()}
        prefix = "subvol" if fmt == "subvol" else "vm"
        n = 0
        while "%s-%d-disk-%d" % (prefix, vmid, n) in used or "base-%d-disk-%d" % (vmid, n) in used:
            n += 1
        if name is None:
            name = "%s-%d-disk-%d" % (prefix, vmid, n)
            if st.path_based:
                name = "%s.%s" % (name, fmt)
        if st.path_based:
            name = "%d/%s" % (vmid, name)
        volid = "%s:%s" % (sid, name)
        if self.realism:
            size = allocated_bytes(st.type, fmt, int(size) // 1024)
        if size > st.avail:
            raise HandlerError("not enough free space on storage '%s'" % sid)
        st.volumes[volid] = Volume(
            volid=volid, name=name, size=int(size), format=fmt, content=content, vmid=vmid, ctime=int(self.now())
        )
        return volid

    def free_volume(self, node, volid):
        """``vdisk_free``."""
        sid = volid.split(":", 1)[0]
        st = self.storage_config(node, sid)
        self.check_enabled(node, sid)
        if volid not in st.volumes:
            raise HandlerError("volume '%s' does not exist" % volid)
        del st.volumes[volid]

    @staticmethod
    def volume_owner(volid):
        """Owner vmid from the volume name (``vm-<vmid>-disk-N``), like parse_volname."""
        name = volid.split(":", 1)[-1].split("/")[-1]
        parts = name.split("-")
        if len(parts) >= 3 and parts[0] in ("vm", "base", "subvol") and parts[1].isdigit():
            return int(parts[1])
        return None

    # -- guests -------------------------------------------------------------------------------

    def guest(self, vmid):
        return self.guests.get(int(vmid))

    def load_config(self, node, vmid, kind):
        """``PVE::AbstractConfig::load_config`` on ``node``: the guest, or die like PVE."""
        guest = self.guests.get(int(vmid))
        if guest is None or guest.node != node or guest.kind != kind:
            sub = "qemu-server" if kind == "qemu" else "lxc"
            raise HandlerError("Configuration file 'nodes/%s/%s/%s.conf' does not exist" % (node, sub, vmid))
        return guest

    def set_lock(self, vmid, lock, seconds=None):
        with self.lock:
            guest = self.guests[int(vmid)]
            if lock:
                guest.config["lock"] = lock
                guest.lock_expires = self.now() + seconds if seconds else None
            else:
                guest.config.pop("lock", None)
                guest.lock_expires = None
            if guest.lock_expires is None:
                self._lock_expiry.pop(guest.vmid, None)
            else:
                self._lock_expiry[guest.vmid] = guest.lock_expires

    # -- the config flock (PVE::AbstractConfig::lock_config) ----------------------------------

    FLOCK_TIMEOUT = 10.0  # lock_config -> lock_config_full($vmid, 10, ...)

    def hold_flock(self, vmid, seconds):
        """Work on ``vmid`` that holds its config flock for ``seconds`` from now (a slow ``vdisk_free``)."""
        self._flock_until[int(vmid)] = max(self._flock_until.get(int(vmid), 0.0), self.now() + seconds)

    def flock_wait(self, vmid):
        """Seconds until the flock of ``vmid`` is free (0: free now)."""
        return max(self._flock_until.get(int(vmid), 0.0) - self.now(), 0.0)

    @staticmethod
    def flock_timeout_error(kind, vmid):
        """pve-common src/PVE/Tools.pm lock_file_full: "can't lock file '$filename' - got timeout" (the
        lock files of qemu-server QemuConfig.pm / pve-container LXC/Config.pm config_file_lock)."""
        sub = "qemu-server" if kind == "qemu" else "lxc"
        return HandlerError("can't lock file '/var/lock/%s/lock-%d.conf' - got timeout" % (sub, int(vmid)))

    # -- tasks --------------------------------------------------------------------------------

    def new_task(
        self, node, type_, id_, user, action=None, log=(), duration=0.0, vmids=None, rollback=True, hidden=False
    ):
        """``fork_worker``: a task whose ``action`` runs when it ends.  An injected task fault
        for this type overrides duration and exit status.  ``vmids``: the guests the action may
        change (rolled back together with the volumes if it fails); None means all.  ``hidden``: work a
        synchronous request goes on doing after the client stopped waiting (not a task PVE lists, no
        task faults apply)."""
        with self.lock:
            fault = None if hidden else self.faults.take_task_fault(type_)
            self._pid += 0x1D3
            now = self.now()
            pstart = int((now - self._boot) * 100)
            starttime = int(now)
            upid = encode_upid(node, self._pid, pstart, starttime, type_, id_, user)
            task = Task(
                upid=upid,
                node=node,
                pid=self._pid,
                pstart=pstart,
                starttime=starttime,
                type=type_,
                id=str(id_),
                user=user,
                started=now,
                duration=duration,
                log=list(log),
                action=action,
            )
            task.vmids = vmids
            task.rollback = rollback
            if fault:
                task.duration = fault["seconds"]
                task.forced_exit = fault["exitstatus"]
            if not hidden:
                self.tasks[upid] = task
            self._running[upid] = task
            if task.duration <= 0:
                self._finish_task(task)
            return task

    def _finish_task(self, task):
        exitstatus = "OK"
        forced = task.forced_exit
        if forced is not None and not is_ok_status(forced):
            exitstatus = forced  # injected failure: the work is not done
        else:
            if task.action is not None:
                snapshot = self._snapshot(task.vmids) if task.rollback else None
                try:
                    extra = task.action(task)
                    if extra:
                        task.log.extend(extra)
                except (ApiError, FormatDie) as exc:
                    task.error = exc
                    if snapshot is not None:
                        self._restore(snapshot)
                    exitstatus = task_error_text(exc)
            if forced is not None and exitstatus == "OK":
                exitstatus = forced
        if exitstatus.startswith("WARNINGS: "):
            for i in range(int(exitstatus.split()[1])):
                task.log.append("WARN: simulated warning %d" % (i + 1))
            task.log.append("TASK " + exitstatus)
        elif exitstatus == "OK":
            task.log.append("TASK OK")
        else:
            task.log.append("TASK ERROR: " + exitstatus)
        task.status = "stopped"
        task.exitstatus = exitstatus
        task.endtime = int(max(self.now(), task.started + task.duration))
        task.action = None
        self._running.pop(task.upid, None)

    # -- transactions -------------------------------------------------------------------------

    def _snapshot(self, vmids=None, volumes=True):
        """Copies of the given guests (all if None) and of every volume table.  Volume objects
        are never mutated in place (see :meth:`set_volume_size`), so a shallow copy of each table
        is enough; a shared table is copied once and restored in place, keeping it shared."""
        if vmids is None:
            guests = copy.deepcopy(self.guests)
        else:
            guests = {int(v): copy.deepcopy(self.guests.get(int(v))) for v in vmids}
        tables = {}
        for st in self.storages.values() if volumes else ():
            if id(st.volumes) not in tables:
                tables[id(st.volumes)] = (st.volumes, dict(st.volumes))
        return vmids, guests, tables

    def _restore(self, snapshot):
        vmids, guests, tables = snapshot
        if vmids is None:
            self.guests = guests
        else:
            for vmid, guest in guests.items():
                if guest is None:
                    self.guests.pop(vmid, None)
                else:
                    self.guests[vmid] = guest
        for table, saved in tables.values():
            table.clear()
            table.update(saved)

    def resize_volume(self, node, volid, size, running_vm=False):
        """``volume_resize`` to ``size`` bytes (``running_vm``: of a running VM's drive); with realism the
        plugin's rounding applies."""
        st = self.storage(node, volid.split(":", 1)[0])
        if self.realism:
            size = resized_bytes(st.type, st.volumes[volid].format, size, running_vm)
        return self.set_volume_size(node, volid, size)

    def set_volume_size(self, node, volid, size):
        """Replace the volume by a resized copy (transactions rely on volumes not being mutated)."""
        st = self.storage(node, volid.split(":", 1)[0])
        st.volumes[volid] = dataclasses.replace(st.volumes[volid], size=int(size))
        return st.volumes[volid]

    @contextlib.contextmanager
    def transaction(self, vmids=None, rollback=True, volumes=True):
        """All-or-nothing change of guests (``vmids``, or all) and volumes; with ``rollback=False`` what was
        done before an error stays, as when PVE writes the config step by step; with ``volumes=False`` only
        the guests are rolled back (volumes allocated or freed on the way stay so)."""
        with self.lock:
            snapshot = self._snapshot(vmids, volumes) if rollback else None
            try:
                yield
            except BaseException:
                if snapshot is not None:
                    self._restore(snapshot)
                raise

    # -- dump ---------------------------------------------------------------------------------

    def dump(self):
        with self.lock:
            storages = {}
            for (node, sid), st in sorted(self.storages.items()):
                storages.setdefault(node, {})[sid] = {
                    "type": st.type,
                    "content": list(st.content),
                    "enabled": st.enabled,
                    "shared": st.shared,
                    "total": st.total,
                    "used": st.used,
                    "volumes": {
                        v.volid: {"size": v.size, "format": v.format, "vmid": v.vmid, "content": v.content}
                        for v in sorted(st.volumes.values(), key=lambda v: v.volid)
                    },
                }
            return {
                "realism": self.realism,
                "pvestatd": {"ticks": self.pvestatd_ticks, "interval": self.pvestatd_interval, "rrd": dict(self.rrd)},
                "nodes": sorted(self.nodes),
                "storages": storages,
                "guests": {
                    str(g.vmid): {
                        "vmid": g.vmid,
                        "kind": g.kind,
                        "node": g.node,
                        "name": g.name,
                        "status": g.status,
                        "lock": g.lock,
                        "config": dict(g.config),
                        "pending": dict(g.pending),
                        "pending_delete": sorted(g.pending_delete),
                        "snapshots": {name: dict(conf) for name, conf in sorted(g.snapshots.items())},
                        "cloudinit": dict(g.cloudinit) if g.cloudinit is not None else None,
                        "digest": g.digest,
                    }
                    for g in sorted(self.guests.values(), key=lambda g: g.vmid)
                },
                "tasks": [dict(t.to_status(), log=list(t.log)) for t in self.tasks.values()],
                "faults": self.faults.dump(),
            }


def size_str(size):
    return format_size(size)

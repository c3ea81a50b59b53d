"""Snapshot a scratch guest's config before the suite and put it back afterwards, with proxmoxer directly.

The snapshot is the guest's current config (``GET .../pending``: every key's current value, and proof that
nothing is pending) and the volumes the guest owns on the test storages. ``restore()`` puts changed keys back,
deletes keys the suite added and destroys the volumes it created, each write with the digest just read:

* a key the suite added is deleted; a disk slot deleted this way becomes ``unusedN`` (qemu-server
  ``PVE::API2::Qemu`` update_vm_api: a detached drive is registered as unused), and an ``unusedN`` entry whose
  volume the guest did not own before is deleted in the next round, which destroys the volume
  (update_vm_api -> ``PVE::QemuServer::try_deallocate_drive``);
* setting a key back to its current value also drops a pending change of it (``cleanup_pending`` in
  qemu-server ``PVE::QemuConfig`` and pve-container ``PVE::LXC::Config::update_pct_config``);
* a volume of the guest on a test storage that no config entry references any more is deleted through the
  storage API (``DELETE /nodes/{node}/storage/{storage}/content/{volid}``, pve-storage
  ``PVE::API2::Storage::Content`` delete; needs Datastore.Allocate, the only write that does).

QEMU writes go through ``POST .../config`` and a task wait (drive hot-unplug and volume frees may outlive a
synchronous request); pve-container has only ``PUT .../config``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

ROUNDS = 6
LOCK_WAIT = 60


class RestoreError(Exception):
    """The guest could not be put back as it was; the message lists what is left."""


class PreconditionError(Exception):
    """The scratch guest is not fit for the suite (wrong type, pending changes, storage missing)."""


@dataclass
class Reading:
    current: dict[str, str]
    pending: dict[str, str]
    deletes: set[str]
    digest: str | None

    @property
    def effective(self) -> dict[str, str]:
        """The config as it will be once pending changes are applied."""
        config = {k: v for k, v in self.current.items() if k not in self.deletes}
        config.update(self.pending)
        return config


def read_pending(entries: list[dict]) -> Reading:
    """``GET .../pending`` entries (key, value, pending, delete) as a Reading."""
    current, pending, deletes, digest = {}, {}, set(), None
    for entry in entries:
        key = entry["key"]
        if key == "digest":
            digest = str(entry.get("value"))
            continue
        if "value" in entry:
            current[key] = str(entry["value"])
        if "pending" in entry:
            pending[key] = str(entry["pending"])
        if entry.get("delete"):
            deletes.add(key)
    return Reading(current, pending, deletes, digest)


def volume_of(value: str) -> str:
    return value.split(",", 1)[0]


@dataclass
class ScratchGuest:
    api: ProxmoxAPI
    vmid: int
    kind: str  # qemu | lxc
    node: str
    storages: tuple[str, ...]
    original: dict[str, str] = field(default_factory=dict)
    volumes: set[str] = field(default_factory=set)

    @classmethod
    def locate(cls, api: ProxmoxAPI, vmid: int, kind: str, storages: tuple[str, ...]) -> ScratchGuest:
        rows = [row for row in api.cluster.resources.get(type="vm") if int(row.get("vmid", -1)) == vmid]
        if not rows:
            raise PreconditionError(f"guest {vmid} not found in /cluster/resources (or no VM.Audit on it)")
        if rows[0]["type"] != kind:
            raise PreconditionError(f"guest {vmid} is a {rows[0]['type']} guest, the suite needs a {kind} one here")
        return cls(api, vmid, kind, rows[0]["node"], storages)

    @property
    def endpoint(self):
        return getattr(self.api.nodes(self.node), self.kind)(self.vmid)

    @property
    def label(self) -> str:
        return f"{'VM' if self.kind == 'qemu' else 'CT'} {self.vmid} on {self.node}"

    @property
    def name(self) -> str:
        return self.original.get("name" if self.kind == "qemu" else "hostname", "")

    def read(self) -> Reading:
        return read_pending(self.endpoint.pending.get())

    def endpoint_storage(self, storage: str):
        """``/nodes/{node}/storage/{storage}`` of the guest's node."""
        return self.api.nodes(self.node).storage(storage)

    def owned_volumes(self) -> set[str]:
        owned = set()
        for storage in self.storages:
            try:
                content = self.endpoint_storage(storage).content.get(vmid=self.vmid)
            except ResourceException as exc:
                raise PreconditionError(f"storage {storage!r} on node {self.node}: {exc}") from None
            owned |= {item["volid"] for item in content}
        return owned

    def snapshot(self) -> None:
        """Remember the current config and owned volumes; refuse a guest that has pending changes or a lock."""
        reading = self.read()
        busy = sorted(reading.pending) + sorted(f"delete {key}" for key in reading.deletes)
        if busy:
            raise PreconditionError(
                f"scratch {self.label} has pending changes ({', '.join(busy)}): apply them (reboot) or revert them "
                "first, so that the suite can tell its own changes apart and put the guest back"
            )
        if "lock" in reading.current:
            raise PreconditionError(f"scratch {self.label} is locked ({reading.current['lock']})")
        self.original = dict(reading.current)
        self.volumes = self.owned_volumes()

    # -- restore ---------------------------------------------------------------------------------

    def plan(self, reading: Reading) -> dict[str, str]:
        """The parameters of one restoring write ({} when the guest is as it was)."""
        params: dict[str, str] = {}
        for key, value in self.original.items():
            if reading.current.get(key) != value or key in reading.pending or key in reading.deletes:
                params[key] = value
        added = sorted((set(reading.current) | set(reading.pending)) - self.original.keys())
        removable = [key for key in added if key != "lock" and not self._holds_original_volume(key, reading)]
        if removable:
            params["delete"] = ",".join(removable)
        return params

    def _holds_original_volume(self, key: str, reading: Reading) -> bool:
        """An ``unusedN`` that holds a volume the guest owned before: not ours to destroy."""
        value = reading.current.get(key) or reading.pending.get(key, "")
        return key.startswith("unused") and volume_of(value) in self.volumes

    def write(self, params: dict[str, str], digest: str | None) -> None:
        if digest:
            params = {**params, "digest": digest}
        if self.kind == "qemu":
            upid = self.endpoint.config.post(**params)
            self.wait(upid)
        else:
            self.endpoint.config.put(**params)

    def wait(self, upid: str | None, timeout: float = 300) -> None:
        if not upid:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.api.nodes(self.node).tasks(upid).status.get()
            if status.get("status") == "stopped":
                if status.get("exitstatus") != "OK" and not str(status.get("exitstatus", "")).startswith("WARNINGS"):
                    raise RestoreError(f"{self.label}: restoring task {upid} ended {status.get('exitstatus')!r}")
                return
            time.sleep(0.5)
        raise RestoreError(f"{self.label}: restoring task {upid} still running after {timeout:.0f}s")

    def restore(self) -> list[str]:
        """Put the snapshot back; returns what was done (one line per write). Raises RestoreError with what
        is left when the guest could not be restored."""
        done: list[str] = []
        errors: list[str] = []
        locked_since = None
        for _round in range(ROUNDS):
            reading = self.read()
            if "lock" in reading.current:
                locked_since = locked_since or time.monotonic()
                if time.monotonic() - locked_since > LOCK_WAIT:
                    errors.append(f"locked ({reading.current['lock']}) for {LOCK_WAIT}s")
                    break
                time.sleep(1)
                continue
            params = self.plan(reading)
            if not params:
                break
            try:
                self.write(params, reading.digest)
                done.append(", ".join(f"{k}={v}" for k, v in params.items()))
            except (ResourceException, RestoreError) as exc:
                errors.append(str(exc))  # a digest conflict or a failed unplug: read again and re-plan
                time.sleep(1)
        done += self._free_leftover_volumes(errors)
        left = self.differences()
        if left:
            raise RestoreError(f"{self.label} not restored: {'; '.join(left)} (errors: {'; '.join(errors) or 'none'})")
        return done

    def _free_leftover_volumes(self, errors: list[str]) -> list[str]:
        reading = self.read()
        referenced = {volume_of(v) for v in {**reading.current, **reading.pending}.values()}
        done = []
        for volid in sorted(self.owned_volumes() - self.volumes - referenced):
            try:
                upid = self.endpoint_storage(volid.split(":", 1)[0]).content(volid).delete()
                self.wait(upid)
                done.append(f"freed {volid}")
            except (ResourceException, RestoreError) as exc:
                errors.append(f"free {volid}: {exc}")
        return done

    def differences(self) -> list[str]:
        """What still differs from the snapshot (empty: restored)."""
        reading = self.read()
        left = [
            f"{key}: {reading.current.get(key)!r} instead of {value!r}"
            for key, value in self.original.items()
            if reading.current.get(key) != value
        ]
        left += [f"added {key}={value!r}" for key, value in reading.current.items() if key not in self.original]
        left += [f"pending {key}={value!r}" for key, value in reading.pending.items()]
        left += [f"pending delete of {key}" for key in sorted(reading.deletes)]
        left += [f"volume {volid} left behind" for volid in sorted(self.owned_volumes() - self.volumes)]
        return left

"""The tool table: one row per MCP tool, naming the pve.config module it runs.

Each row's argument model is the tool's input schema (types, ranges, enums, descriptions) and is also what
the server validates calls with; `to_module_args` renames tool arguments to module options and adds the
row's fixed arguments. Nothing here runs anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from .fields import BRIDGE, MAC, STORAGE, VMID, SafeStr, Size, mebibytes, safe_str
from .plans import PLAN_ID_PATTERN, SECRET_KEYS
from .ranges import choice, integer, minimum, number, slot_pattern

COLLECTION = "pve.config"

DISK_BUSES = ("scsi", "sata", "virtio", "ide")
# Slots as the collection's table counts them (qemu-server Drive.pm $MAX_*_DISKS, QemuServer.pm $MAX_NETS).
DISK_ID = safe_str(
    slot_pattern("qemu", *DISK_BUSES), "Disk slot: scsi0..scsi30, sata0..sata5, virtio0..virtio15 or ide0..ide3."
)
NET_ID = safe_str(slot_pattern("qemu", "net"), "Network interface slot, net0..net31.")
# Container mount points (pve-container LXC/Config.pm $MAX_MOUNT_POINTS) and the root file system.
MOUNTPOINT_ID = safe_str(slot_pattern("lxc", "mp"), "Mount point key of the container, mp0..mp255.")
CT_DISK_ID = safe_str(
    slot_pattern("lxc", "mp")[:-2] + "|rootfs)$", "Container volume to grow: rootfs or a mount point mp0..mp255."
)
CT_PATH = safe_str(
    r"^/[^,=]*$",
    "Where the volume is mounted inside the container (an absolute path such as '/srv/data'; no ',' or '=').",
)

DRY_RUN_HELP = "Only predict: run the module in check + diff mode and return what would change; nothing is written."


# --------------------------------------------------------------------------------------------------- arguments


class ClosedArgs(BaseModel):
    """Base of every argument model: unknown arguments are an error, not silently dropped, and types are strict:
    no JSON boolean becomes an integer (issue 9.8: `cores: true` wrote `cores: 1`), no string a number or a
    boolean. A plain pydantic model: the tools/call interceptor validates every call with it (tool_calls.py)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, strict=True)


class ToolArgs(ClosedArgs):
    vmid: VMID


class ChangeArgs(ToolArgs):
    dry_run: bool = Field(False, description=DRY_RUN_HELP)


def _require_one(model: BaseModel, names: tuple[str, ...]) -> None:
    if all(getattr(model, name) is None for name in names):
        raise ValueError(f"give at least one of: {', '.join(names)}")


VM_RESOURCE_OPTIONS = ("memory", "balloon", "cores", "sockets", "vcpus", "cpu", "cpulimit", "cpuunits")


class VmResourcesArgs(ChangeArgs):
    memory: mebibytes(minimum("qemu", "memory"), "Memory (RAM) of the VM:") | None = None
    balloon: (
        mebibytes(minimum("qemu", "balloon"), "Minimum memory for the balloon device (0 disables ballooning):") | None
    ) = None
    cores: integer("qemu", "cores", "CPU cores per socket.") | None = None
    sockets: integer("qemu", "sockets", "CPU sockets.") | None = None
    vcpus: integer("qemu", "vcpus", "Hot-plugged vCPUs (at most cores x sockets).") | None = None
    cpu: safe_str(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$", "CPU type, e.g. 'host', 'x86-64-v2-AES', 'kvm64'.") | None = (
        None
    )
    cpulimit: number("qemu", "cpulimit", "CPU usage limit in CPUs (0 = unlimited).") | None = None
    cpuunits: integer("qemu", "cpuunits", "CPU weight relative to other guests.") | None = None

    @model_validator(mode="after")
    def _one_option(self) -> VmResourcesArgs:
        _require_one(self, VM_RESOURCE_OPTIONS)
        return self


CT_RESOURCE_OPTIONS = ("memory", "swap", "cores", "cpulimit", "cpuunits")


class ContainerResourcesArgs(ChangeArgs):
    memory: mebibytes(minimum("lxc", "memory"), "Memory of the container:") | None = None
    swap: mebibytes(minimum("lxc", "swap"), "Swap of the container:") | None = None
    cores: integer("lxc", "cores", "CPU cores visible to the container.") | None = None
    cpulimit: number("lxc", "cpulimit", "CPU usage limit in CPUs (0 = unlimited).") | None = None
    cpuunits: integer("lxc", "cpuunits", "CPU weight relative to other guests.") | None = None

    @model_validator(mode="after")
    def _one_option(self) -> ContainerResourcesArgs:
        _require_one(self, CT_RESOURCE_OPTIONS)
        return self


class AddVmDiskArgs(ChangeArgs):
    storage: STORAGE
    size: Size
    type: Literal[DISK_BUSES] | None = Field(
        None, description="Bus of the new disk: scsi (the default), sata, virtio or ide. Taken from disk_id if given."
    )
    disk_id: DISK_ID | None = Field(None, description="Slot to use (e.g. 'scsi1'); default: the first free slot.")
    cache: choice("qemu_scsi", "cache") | None = Field(None, description="Cache mode.")
    discard: bool | None = Field(None, description="Pass discard/TRIM requests to the storage.")
    iothread: bool | None = Field(
        None, description="Use a dedicated I/O thread (virtio, or scsi with virtio-scsi-single)."
    )
    ssd: bool | None = Field(None, description="Present the disk to the guest as an SSD (not on virtio).")
    backup: bool | None = Field(None, description="Include the disk in backups.")
    format: Literal["raw", "qcow2", "vmdk"] | None = Field(None, description="Volume format (file storages).")

    @model_validator(mode="after")
    def _bus_matches_slot(self) -> AddVmDiskArgs:
        if self.disk_id is not None and self.type is not None and not self.disk_id.startswith(self.type):
            raise ValueError(
                f"disk_id {self.disk_id} is not on the {self.type} bus; omit type or pick a {self.type} slot"
            )
        return self


class ResizeVmDiskArgs(ChangeArgs):
    disk_id: DISK_ID
    size: Annotated[Size, Field(description="New, larger size ('64G' or a number of GiB); disks only grow.")]


class VolumeRemovalArgs(ChangeArgs):
    """A detach that may also destroy the volume: `delete_volume` needs the user's confirmation (ToolSpec.confirm)."""

    delete_volume: bool = Field(
        False,
        description="Also destroy the volume (data is lost). Default: detach only; the volume stays as unusedN.",
    )
    confirm: bool = Field(
        False,
        description="Set to true only after the user explicitly agreed to destroy the volume. Clients that support "
        "elicitation are asked directly instead.",
    )


class RemoveVmDiskArgs(VolumeRemovalArgs):
    disk_id: DISK_ID


class AddContainerMountpointArgs(ChangeArgs):
    storage: STORAGE
    size: Size
    path: CT_PATH
    mountpoint_id: MOUNTPOINT_ID | None = Field(
        None, description="Mount point key to use (e.g. 'mp1'); default: the first free one."
    )
    backup: bool | None = Field(None, description="Include the volume in backups (Proxmox leaves it out when unset).")
    ro: bool | None = Field(None, description="Mount read-only.")
    quota: bool | None = Field(None, description="Enable user quotas inside the container (not on ZFS subvolumes).")
    acl: bool | None = Field(None, description="Enable (true) or disable (false) ACLs; unset: the storage's default.")
    replicate: bool | None = Field(None, description="Include the volume in storage replication (default: yes).")


class ResizeContainerDiskArgs(ChangeArgs):
    disk_id: CT_DISK_ID
    size: Annotated[Size, Field(description="New, larger size ('16G' or a number of GiB); volumes only grow.")]


class RemoveContainerMountpointArgs(VolumeRemovalArgs):
    mountpoint_id: MOUNTPOINT_ID


class AddVmNetworkArgs(ChangeArgs):
    bridge: BRIDGE = "vmbr0"
    model: choice("qemu_net", "model") = Field("virtio", description="NIC model.")
    interface_id: NET_ID | None = Field(None, description="Slot to use (e.g. 'net1'); default: the first free slot.")
    tag: integer("qemu_net", "tag", "VLAN tag.") | None = None
    firewall: bool | None = Field(None, description="Protect the interface with the Proxmox firewall.")
    link_down: bool | None = Field(None, description="Disconnect the interface (like pulling the plug).")
    rate: number("qemu_net", "rate", "Rate limit in MB/s.") | None = None
    mtu: integer("qemu_net", "mtu", "MTU (1 = use the bridge's MTU).") | None = None
    queues: integer("qemu_net", "queues", "Packet queues (multiqueue, virtio).") | None = None
    trunks: safe_str(r"^[0-9]+(-[0-9]+)?(;[0-9]+(-[0-9]+)?)*$", "VLAN trunks, e.g. '10;20-30'.") | None = None
    macaddr: MAC | None = None


class InterfaceArgs(ChangeArgs):
    interface_id: NET_ID


IPV4_CONF = safe_str(
    r"^(dhcp|manual|[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2})$", "IPv4: 'dhcp', 'manual' or an address in CIDR form."
)
IPV6_CONF = safe_str(
    r"^(auto|dhcp|manual|[0-9A-Fa-f:.]{2,45}/[0-9]{1,3})$", "IPv6: 'auto', 'dhcp', 'manual' or an address in CIDR form."
)


class AddContainerNetworkArgs(ChangeArgs):
    name: safe_str(r"^[A-Za-z0-9_.-]{1,15}$", "Interface name inside the container; default eth<N>.") | None = None
    bridge: BRIDGE = "vmbr0"
    ip: IPV4_CONF = "dhcp"
    interface_id: NET_ID | None = Field(None, description="Slot to use (e.g. 'net1'); default: the first free slot.")
    gw: safe_str(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$", "IPv4 default gateway.") | None = None
    ip6: IPV6_CONF | None = None
    gw6: safe_str(r"^[0-9A-Fa-f:.]{2,45}$", "IPv6 default gateway.") | None = None
    tag: integer("lxc_net", "tag", "VLAN tag.") | None = None
    firewall: bool | None = Field(None, description="Use the interface's firewall rules.")
    link_down: bool | None = Field(None, description="Disconnect the interface.")
    rate: number("lxc_net", "rate", "Rate limit in MB/s.") | None = None
    mtu: integer("lxc_net", "mtu", "MTU.") | None = None
    hwaddr: MAC | None = None


class GuestArgs(ToolArgs):
    pass


CONFIG_KEY = safe_str(r"^[a-z][a-z0-9_-]{0,31}$", "A config key of the guest, e.g. 'memory', 'scsi1', 'mp0'.")
SUB_KEY = safe_str(r"^[a-z][A-Za-z0-9_.-]{0,63}$", "A sub-key of a property string, e.g. 'iothread', 'mp'.")
CONFIG_TEXT = Annotated[SafeStr, StringConstraints(max_length=8192)]
Scalar = CONFIG_TEXT | int | float | bool
ConfigValue = Annotated[
    Scalar | list[CONFIG_TEXT] | dict[SUB_KEY, Scalar | None],
    Field(
        description="A scalar, a list (nameserver, searchdomain, tags), or a property string given as a dict of its "
        "sub-keys that is merged into the current value (null removes a sub-key); a new disk or mount point gives "
        "storage and size."
    ),
]


class PlanGuestConfigArgs(ToolArgs):
    config: dict[CONFIG_KEY, ConfigValue] = Field(
        default_factory=dict,
        description="Config keys of /nodes/{node}/qemu|lxc/{vmid}/config to set, as pve.config.guest_config takes "
        "them: e.g. {'memory': 4096, 'tags': ['web', 'prod'], 'scsi1': {'storage': 'local-lvm', 'size': '10G'}, "
        "'net0': {'tag': 20}}. cipassword and password are refused: a plan never holds a secret.",
    )
    absent: list[CONFIG_KEY] = Field(
        default_factory=list,
        description="Config keys to remove; a disk or mount point is detached and its volume kept as unusedN.",
    )
    purge: bool = Field(
        False,
        description="Destroy the volumes of the disks and mount points in absent (and of unusedN keys in absent) "
        "instead of keeping them; applying such a plan needs the user's confirmation.",
    )

    @model_validator(mode="after")
    def _no_secret_and_something_to_do(self) -> PlanGuestConfigArgs:
        secret = sorted(k for k in SECRET_KEYS if k in self.config)  # removing one (absent) reveals nothing
        if secret:
            raise ValueError(
                f"{', '.join(secret)} is write-only and never goes into a plan (a plan id is readable by whoever "
                "holds it); set it with the pve.config.guest_config module (update_password) instead"
            )
        if not self.config and not self.absent:
            raise ValueError("give config and/or absent")
        return self


class ApplyGuestConfigArgs(ClosedArgs):
    plan_id: safe_str(PLAN_ID_PATTERN, "The plan_id that plan_guest_config returned, unchanged.")
    confirm: bool = Field(
        False,
        description="Set to true only after the user explicitly agreed to destroy the volumes the plan destroys "
        "(its `destroys`). Clients that support elicitation are asked directly instead.",
    )


# ----------------------------------------------------------------------------------------------------- results


class Diff(BaseModel):
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)


class ChangeResult(BaseModel):
    """What every changing tool returns (the module's result keys plus a summary)."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(description="One-line human summary.")
    changed: bool = Field(description="Whether the guest config changed (or, with dry_run, would change).")
    dry_run: bool = False
    vmid: int
    node: str | None = None
    guest_type: Literal["qemu", "lxc"] | None = None
    diff: Diff | None = Field(None, description="Before/after of exactly the config keys that change.")
    config: dict[str, Any] = Field(default_factory=dict, description="Resulting (or predicted) guest config.")
    pending: dict[str, Any] = Field(
        default_factory=dict, description="Changes waiting for a reboot: key -> new value, null for a pending delete."
    )
    reboot_required: bool = False
    task: str | None = Field(None, description="UPID of the last Proxmox task waited for.")
    msg: str = ""
    warnings: list[str] = Field(
        default_factory=list,
        description="The module's Ansible warnings, such as a value Proxmox stores differently from the request.",
    )

    @field_validator("warnings", mode="before")
    @classmethod
    def _warning_texts(cls, value: Any) -> Any:
        return warning_texts(value)


class ResourcesResult(ChangeResult):
    normalised: list[str] = Field(
        default_factory=list,
        description="Requested values Proxmox stores differently, in words: cpuunits clamped to 10000 on a cgroup v2 "
        "node, memory hot-plugged in whole DIMMs. Each is also a warning.",
    )


class VolumeResult(ChangeResult):
    """What the volume tools (VM disks, container mount points) return beside the shared keys."""

    volume: str | None = Field(None, description="Volume ID, e.g. 'local-lvm:vm-100-disk-1'.")
    size: str | None = Field(None, description="Size of the volume as Proxmox records it, e.g. '32G'.")
    size_rounded: bool | None = Field(
        None,
        description="True when the volume is larger than the size asked only by rounding (whole MiB, the storage's "
        "allocation unit, or a volume the storage already made larger).",
    )
    destroyed_volume: str | None = Field(None, description="The volume destroyed (delete_volume), if any.")
    unused: str | dict[str, str] | None = Field(
        None,
        description="Unused volumes of the guest (unusedN -> volume ID) when delete_volume names an empty slot, one "
        "of which may be left from an earlier detach; after a failed destroy, the unusedN the volume was left as.",
    )


class DiskResult(VolumeResult):
    disk: str | None = Field(None, description="The disk slot used, e.g. 'scsi1'.")


class MountpointResult(VolumeResult):
    mountpoint: str | None = Field(None, description="The container key used: 'mp1', or 'rootfs'.")


class VmNicResult(ChangeResult):
    interface: str | None = Field(None, description="The netN slot used.")
    macaddr: str | None = None


class ContainerNicResult(ChangeResult):
    interface: str | None = Field(None, description="The netN slot used.")
    hwaddr: str | None = None
    name: str | None = Field(None, description="Interface name inside the container.")


class Step(BaseModel):
    action: str = Field(description="create, grow, set, delete, purge, cloudinit or reboot.")
    keys: list[str] = Field(default_factory=list)


class GuestConfigResult(ChangeResult):
    digest: str | None = Field(None, description="Config digest the module read first (what it worked from).")
    steps: list[Step] = Field(
        default_factory=list, description="The ordered steps: predicted for a plan, the ones done after an apply."
    )
    pending_predicted: list[str] = Field(
        default_factory=list,
        description="Plan of a running guest: the keys predicted to stay pending until a reboot (then "
        "reboot_required); the tools never reboot.",
    )
    destroyed_volumes: list[str] = Field(
        default_factory=list, description="Volume IDs destroyed (predicted for a plan) by purge."
    )


class PlanResult(GuestConfigResult):
    plan_id: str = Field(description="The signed plan: give it to apply_guest_config unchanged.")
    expires_at: str = Field(description="UTC time after which the plan is refused.")
    destroys: list[str] = Field(
        default_factory=list, description="Keys whose volumes applying the plan destroys (needs confirmation)."
    )


class GuestInfoResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str
    vmid: int
    node: str | None = None
    guest_type: Literal["qemu", "lxc"] | None = None
    status: str | None = None
    name: str | None = None
    lock: str | None = Field(None, description="Proxmox lock on the guest (backup, migrate, ...), if any.")
    pool: str | None = Field(None, description="Resource pool the guest is a member of, if any.")
    config: dict[str, Any] = Field(default_factory=dict, description="Config with pending values applied.")
    current: dict[str, Any] = Field(default_factory=dict, description="Config as running now.")
    pending: dict[str, Any] = Field(default_factory=dict)
    disks: dict[str, Any] = Field(default_factory=dict, description="slot -> parsed disk properties")
    nics: dict[str, Any] = Field(default_factory=dict, description="slot -> parsed NIC properties")
    digest: str | None = None
    desired: dict[str, Any] = Field(
        default_factory=dict,
        description="The guest as it is, as plan_guest_config's config (under 'config'): a starting point to edit.",
    )


# --------------------------------------------------------------------------------------------------- the table


def _hints(*, read_only: bool = False, destructive: bool = False, idempotent: bool = False) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )


@dataclass(frozen=True)
class ToolSpec:
    name: str
    module: str  # short name inside the collection
    args: type[ClosedArgs]
    result: type[BaseModel]
    title: str
    description: str
    annotations: ToolAnnotations
    fixed: Mapping[str, Any] = field(default_factory=dict)
    renames: Mapping[str, str] = field(default_factory=dict)  # tool argument -> module option
    confirm: bool = False  # destroying data needs the user's confirmation
    target: str = "disk_id"  # the argument naming what a confirmed call destroys the volume of
    # run: the module with the arguments (dry_run = check mode); plan: always check mode, the result is signed into
    # a plan (plans.py); apply: the module with the options of a verified plan (the arguments carry only plan_id).
    # fleet_plan / fleet_apply: the same for many guests (fleet_tools.py, fleet_calls.py).
    mode: Literal["run", "plan", "apply", "fleet_plan", "fleet_apply"] = "run"

    @property
    def fqcn(self) -> str:
        return f"{COLLECTION}.{self.module}"

    @property
    def read_only(self) -> bool:
        return bool(self.annotations.read_only_hint)

    def to_module_args(self, args: ClosedArgs) -> dict[str, Any]:
        """Module options for validated tool arguments: renamed, None dropped, fixed args added."""
        options: dict[str, Any] = {}
        for name, value in args.model_dump(exclude={"dry_run", "confirm", "approval_id"}).items():
            if value is None:
                continue
            options[self.renames.get(name, name)] = value
        options.update(self.fixed)
        return options


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="update_vm_resources",
        module="vm_resources",
        args=VmResourcesArgs,
        result=ResourcesResult,
        title="Update VM resources",
        description="Set memory, ballooning, CPU cores/sockets/vCPUs, CPU type and CPU limits of a QEMU VM. Only the "
        "options given are changed; some take effect after a reboot (see `pending`).",
        annotations=_hints(idempotent=True),
    ),
    ToolSpec(
        name="update_container_resources",
        module="container_resources",
        args=ContainerResourcesArgs,
        result=ResourcesResult,
        title="Update container resources",
        description="Set memory, swap, cores and CPU limits of an LXC container. Only the options given are changed.",
        annotations=_hints(idempotent=True),
    ),
    ToolSpec(
        name="add_vm_disk",
        module="vm_disk",
        args=AddVmDiskArgs,
        result=DiskResult,
        title="Add a disk to a VM",
        description="Create a new volume on a storage and attach it to a VM (first free slot of the bus unless "
        "disk_id is given). Returns the slot used. Each call without disk_id adds another disk. A disk_id that "
        "is already in use is refused and nothing is written: an existing disk is never grown or changed here "
        "(use resize_vm_disk to grow one).",
        # Additive only (destructive_hint false is true): vm_disk's if_exists=fail refuses an occupied slot before
        # any write (issue 9.5: disk_id scsi0 grew the boot disk from 32G to 64G).
        annotations=_hints(),
        fixed={"state": "present", "if_exists": "fail"},
        renames={"type": "bus", "disk_id": "disk"},
    ),
    ToolSpec(
        name="resize_vm_disk",
        module="vm_disk",
        args=ResizeVmDiskArgs,
        result=DiskResult,
        title="Grow a VM disk",
        description="Grow an attached VM disk to the given size. Disks only grow; a smaller size is an error.",
        annotations=_hints(idempotent=True),
        fixed={"state": "present"},
        renames={"disk_id": "disk"},
    ),
    ToolSpec(
        name="remove_vm_disk",
        module="vm_disk",
        args=RemoveVmDiskArgs,
        result=DiskResult,
        title="Remove a disk from a VM",
        description="Detach a disk from a VM; its volume stays on the storage as an unused disk. With "
        "delete_volume=true the volume is destroyed, which needs the user's confirmation.",
        annotations=_hints(destructive=True, idempotent=True),
        fixed={"state": "absent"},
        renames={"disk_id": "disk", "delete_volume": "purge"},
        confirm=True,
    ),
    ToolSpec(
        name="add_container_mountpoint",
        module="container_mountpoint",
        args=AddContainerMountpointArgs,
        result=MountpointResult,
        title="Add a mount point to a container",
        description="Create a new volume on a storage (content type rootdir) and mount it at path inside an LXC "
        "container (first free mpN unless mountpoint_id is given). Returns the key used. A running container gets it "
        "at once. A mountpoint_id that is already in use is refused and nothing is written (use "
        "resize_container_disk to grow one). Bind mounts of host paths are not offered here: Proxmox allows them "
        "only to root@pam itself.",
        # Additive only, as add_vm_disk: container_mountpoint's if_exists=fail refuses an occupied key before any write.
        annotations=_hints(),
        fixed={"state": "present", "if_exists": "fail"},
        renames={"mountpoint_id": "mountpoint"},
    ),
    ToolSpec(
        name="resize_container_disk",
        module="container_mountpoint",
        args=ResizeContainerDiskArgs,
        result=MountpointResult,
        title="Grow a container volume",
        description="Grow the root file system (rootfs) or a mount point volume (mpN) of an LXC container to the "
        "given size, also while it runs. Volumes only grow; a smaller size is an error.",
        annotations=_hints(idempotent=True),
        fixed={"state": "present"},
        renames={"disk_id": "mountpoint"},
    ),
    ToolSpec(
        name="remove_container_mountpoint",
        module="container_mountpoint",
        args=RemoveContainerMountpointArgs,
        result=MountpointResult,
        title="Remove a mount point from a container",
        description="Detach a mount point from an LXC container; its volume stays on the storage as an unused volume "
        "(a bind mount is only removed). On a running container the removal waits for a reboot (see `pending`). "
        "With delete_volume=true the volume is destroyed, which needs the user's confirmation.",
        annotations=_hints(destructive=True, idempotent=True),
        fixed={"state": "absent"},
        renames={"mountpoint_id": "mountpoint", "delete_volume": "purge"},
        confirm=True,
        target="mountpoint_id",
    ),
    ToolSpec(
        name="add_vm_network",
        module="vm_nic",
        args=AddVmNetworkArgs,
        result=VmNicResult,
        title="Add a network interface to a VM",
        description="Add a new NIC to a VM (first free netN unless interface_id is given). Returns the netN used and "
        "its MAC address. Each call without interface_id adds another NIC. An interface_id that is already in use, "
        "or a macaddr that an existing NIC has, is refused and nothing is written: an existing NIC is never changed "
        "here.",
        # Additive only (destructive_hint false is true): vm_nic's if_exists=fail refuses an existing NIC before any
        # write (with interface_id net0 this tool used to rewrite the VM's NIC, as add_vm_disk grew disks: 9.5).
        annotations=_hints(),
        fixed={"state": "present", "if_exists": "fail"},
        renames={"interface_id": "interface"},
    ),
    ToolSpec(
        name="remove_vm_network",
        module="vm_nic",
        args=InterfaceArgs,
        result=VmNicResult,
        title="Remove a network interface from a VM",
        description="Remove the NIC netN from a VM (its MAC address is lost).",
        annotations=_hints(destructive=True, idempotent=True),
        fixed={"state": "absent"},
        renames={"interface_id": "interface"},
    ),
    ToolSpec(
        name="add_container_network",
        module="container_nic",
        args=AddContainerNetworkArgs,
        result=ContainerNicResult,
        title="Add a network interface to a container",
        description="Add a new NIC to an LXC container (first free netN unless interface_id is given), named eth<N> "
        "by default, on vmbr0 with DHCP by default. Returns the netN used. An interface_id that is already in use, "
        "or a name that an existing interface has, is refused and nothing is written: an existing interface is "
        "never changed here.",
        # Additive only, as add_vm_network: container_nic's if_exists=fail.
        annotations=_hints(),
        fixed={"state": "present", "if_exists": "fail"},
        renames={"interface_id": "interface"},
    ),
    ToolSpec(
        name="remove_container_network",
        module="container_nic",
        args=InterfaceArgs,
        result=ContainerNicResult,
        title="Remove a network interface from a container",
        description="Remove the NIC netN from an LXC container.",
        annotations=_hints(destructive=True, idempotent=True),
        fixed={"state": "absent"},
        renames={"interface_id": "interface"},
    ),
    ToolSpec(
        name="plan_guest_config",
        module="guest_config",
        args=PlanGuestConfigArgs,
        result=PlanResult,
        title="Plan a guest configuration change",
        description="Compute, without writing anything, what pve.config.guest_config would change to bring a VM or "
        "container to the given config: the diff, the ordered steps (create, grow, set, delete, purge), the keys "
        "predicted to stay pending until a reboot, the config digest the plan was computed from, and a signed "
        "plan_id that apply_guest_config takes. The plan expires (expires_at) and is refused once the guest changed.",
        annotations=_hints(read_only=True, idempotent=True),
        mode="plan",
    ),
    ToolSpec(
        name="apply_guest_config",
        module="guest_config",
        args=ApplyGuestConfigArgs,
        result=GuestConfigResult,
        title="Apply a planned guest configuration change",
        description="Apply exactly the plan of plan_guest_config (plan_id), only to the config it was computed from: "
        "refused, and nothing written, when the guest changed since the plan, or when the plan expired or was "
        "altered. A plan that destroys volumes (destroys) needs the user's confirmation.",
        # Destructive: a plan may delete keys and destroy volumes. Idempotent: a second call with the same plan is
        # refused by the digest (the first apply changed it) or is a no-op, with no further effect.
        annotations=_hints(destructive=True, idempotent=True),
        confirm=True,
        mode="apply",
    ),
    ToolSpec(
        name="get_guest_config",
        module="guest_info",
        args=GuestArgs,
        result=GuestInfoResult,
        title="Read a guest's configuration",
        description="Read a VM's or container's current config, pending changes, status, disks and NICs.",
        annotations=_hints(read_only=True, idempotent=True),
    ),
)

# The fleet rows: fleet_tools.py builds its models on the classes above, so it is imported here, after them.
from .fleet_tools import FLEET_TOOLS  # noqa: E402

TOOLS += FLEET_TOOLS
TOOLS_BY_NAME: dict[str, ToolSpec] = {spec.name: spec for spec in TOOLS}


def warning_texts(value: Any) -> list[str]:
    """A module result's `warnings` as plain strings: ansible-core 2.19 may hand them on as strings or as
    dicts (a warning summary whose text is `msg`, or `event.msg`)."""
    if not isinstance(value, list | tuple):
        return []
    texts = []
    for item in value:
        if isinstance(item, Mapping):
            event = item.get("event")
            item = item.get("msg") or (event.get("msg") if isinstance(event, Mapping) else None) or item
        texts.append(" ".join(str(item).split()))
    return texts


def summarize(spec: ToolSpec, result: Mapping[str, Any], *, dry_run: bool) -> str:
    """One line for humans: the module's own `msg` (it names the guest), or a short fallback, then what a reader
    would otherwise miss: each warning (a clamped or DIMM-aligned value) and a disk size rounded up."""
    text = " ".join(str(result.get("msg") or "").split())
    if not text:
        guest = {"qemu": "VM", "lxc": "CT"}.get(str(result.get("guest_type")), "guest")
        if spec.read_only and spec.mode != "plan":
            detail = " ".join(str(result.get(k)) for k in ("name", "status") if result.get(k))
        else:
            detail = "changed" if result.get("changed") else "no change"
        text = f"{guest} {result.get('vmid')}: {detail or 'config read'}"
    warnings = dict.fromkeys(warning_texts(result.get("warnings")) + warning_texts(result.get("normalised")))
    text += "".join(f" [warning: {note}]" for note in warnings)
    if result.get("size_rounded") and "rounded" not in text:
        what = "volume" if result.get("mountpoint") else "disk"
        text += f" [size rounded: the {what} is {result.get('size')}, larger than asked only by rounding]"
    if spec.mode == "plan":
        destroys = result.get("destroys") or []
        if destroys:
            text += f" [destroys the volumes of {', '.join(destroys)}: applying needs the user's confirmation]"
        return f"[plan, nothing written; valid until {result.get('expires_at')}] {text}"
    return f"[dry run, nothing written] {text}" if dry_run else text

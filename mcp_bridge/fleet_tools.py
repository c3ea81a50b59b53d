"""The fleet rows of the tool table: plan_fleet_config and apply_fleet_config (pve.config.fleet_config).

plan_fleet_config chooses guests (`select`, or `guests` entries each with its own change), runs fleet_config in
check + diff mode on exactly those guests and signs the result into a plan (plans.py) that pins the VMIDs, each
guest's change and each guest's config digest. apply_fleet_config runs fleet_config on exactly those guests, each
with `if_digest`: a guest whose config changed since the plan is refused (nothing written to it) and the others go
on. Which guests are chosen, and the allow-list check of every one of them, is fleet_select.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .fields import VMID, safe_str
from .plans import FLEET_PLAN_ID_MAX, FLEET_PLAN_ID_PATTERN, SECRET_KEYS
from .tools import CONFIG_KEY, ClosedArgs, ConfigValue, Diff, Step, ToolSpec, _hints

MAX_GUESTS = 500  # guests in one plan: the plan id carries each one's vmid, change and digest
NAME = safe_str(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$", "A guest name (a DNS name, as Proxmox allows).")
WORD = safe_str(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$", "A tag, pool or node name.")

Config = Annotated[
    dict[CONFIG_KEY, ConfigValue],
    Field(
        description="Config keys to set, as pve.config.guest_config takes them: e.g. {'memory': 4096, 'cores': 2, "
        "'tags': ['web'], 'net0': {'tag': 20}}. cipassword and password are refused: a plan never holds a secret."
    ),
]
Absent = Annotated[
    list[CONFIG_KEY], Field(description="Config keys to remove; a disk or mount point is detached (kept as unusedN).")
]


def _no_secret(config: dict[str, Any], where: str) -> None:
    secret = sorted(k for k in SECRET_KEYS if k in config)
    if secret:
        raise ValueError(
            f"{where}: {', '.join(secret)} is write-only and never goes into a plan (a plan id is readable by whoever "
            "holds it); set it with the pve.config.fleet_config module instead"
        )


class FleetSelect(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    tags: list[WORD] | None = Field(None, description="Guests with one of these tags.")
    pools: list[WORD] | None = Field(None, description="Guests in one of these pools.")
    nodes: list[WORD] | None = Field(None, description="Guests on one of these nodes.")
    types: list[Annotated[str, Field(pattern=r"^(qemu|lxc)$")]] | None = Field(
        None, description="qemu and/or lxc (both: every guest)."
    )
    names: list[NAME] | None = Field(None, description="Guests with one of these names.")
    vmids: list[VMID] | None = Field(None, description="Guests with one of these IDs.")

    @model_validator(mode="after")
    def _one_filter(self) -> FleetSelect:
        if all(value is None for value in self.model_dump().values()):
            raise ValueError("select needs at least one of tags, pools, nodes, types, names, vmids")
        return self


class FleetEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    vmid: VMID | None = None
    name: NAME | None = None
    config: Config = Field(default_factory=dict)
    absent: Absent = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_guest_and_a_change(self) -> FleetEntry:
        if (self.vmid is None) == (self.name is None):
            raise ValueError("each guests entry needs exactly one of vmid and name")
        if not self.config and not self.absent:
            raise ValueError(f"guests entry {self.vmid or self.name}: give config and/or absent")
        _no_secret(self.config, f"guests entry {self.vmid or self.name}")
        return self


class PlanFleetConfigArgs(ClosedArgs):
    select: FleetSelect | None = Field(
        None,
        description="Choose the guests matching every filter given (templates never); with config and/or absent. "
        "Exclusive with guests.",
    )
    guests: Annotated[list[FleetEntry], Field(min_length=1, max_length=MAX_GUESTS)] | None = Field(
        None, description="The guests, each by vmid or name with its own config/absent. Exclusive with select."
    )
    config: Config = Field(default_factory=dict)
    absent: Absent = Field(default_factory=list)
    purge: bool = Field(
        False,
        description="Destroy the volumes of the disks and mount points removed (absent, unusedN) instead of keeping "
        "them; applying such a plan needs the user's confirmation.",
    )
    # fleet_config's own defaults (plugins/module_utils/fleet.py PARALLEL, PER_NODE: why these)
    parallel: Annotated[int, Field(ge=1, le=100)] = Field(10, description="Guests changed at once.")
    per_node: Annotated[int, Field(ge=1, le=100)] = Field(5, description="Guests of one node changed at once.")

    @model_validator(mode="after")
    def _select_or_guests(self) -> PlanFleetConfigArgs:
        if (self.select is None) == (self.guests is None):
            raise ValueError("give exactly one of select and guests")
        if self.select is not None and not self.config and not self.absent:
            raise ValueError("select needs config and/or absent: the change to make to the guests it chooses")
        if self.guests is not None and (self.config or self.absent):
            raise ValueError("with guests, each entry carries its own config/absent (no top-level config/absent)")
        _no_secret(self.config, "config")
        return self


class ApplyFleetConfigArgs(ClosedArgs):
    plan_id: Annotated[
        safe_str(FLEET_PLAN_ID_PATTERN, "The plan_id that plan_fleet_config returned, unchanged."),
        StringConstraints(max_length=FLEET_PLAN_ID_MAX),
    ]
    confirm: bool = Field(
        False,
        description="Set to true only after the user explicitly agreed to destroy the volumes the plan destroys "
        "(its `destroys`). Clients that support elicitation are asked directly instead.",
    )


# ----------------------------------------------------------------------------------------------------- results


class FleetGuest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    vmid: int | None = None
    node: str | None = None
    name: str | None = None
    guest_type: str | None = None
    changed: bool = False
    failed: bool = False
    msg: str = ""
    diff: Diff | None = None
    pending: dict[str, Any] = Field(default_factory=dict, description="Changes waiting for a reboot.")
    reboot_required: bool = False
    pending_predicted: list[str] = Field(
        default_factory=list,
        description="Plan: keys predicted to stay pending until a reboot (the tools never reboot).",
    )
    digest: str | None = Field(None, description="Config digest the guest's plan was computed from.")
    steps: list[Step] = Field(default_factory=list)
    destroys: list[str] = Field(default_factory=list, description="Keys whose volumes the plan destroys.")


class FleetTotals(BaseModel):
    guests: int
    changed: int = Field(description="Guests changed (plan: that would change).")
    unchanged: int
    failed: int
    reboots: int = Field(description="Guests with keys pending until a reboot (plan: predicted).")


class FleetResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str
    changed: bool
    dry_run: bool
    guests: list[FleetGuest]
    totals: FleetTotals
    msg: str = ""


class FleetPlanResult(FleetResult):
    plan_id: str | None = Field(None, description="The signed plan (null when no guest would change).")
    expires_at: str | None = None
    vmids: list[int] = Field(default_factory=list, description="The guests the plan changes, and only those.")
    predicted_reboots: list[int] = Field(default_factory=list, description="Guests predicted to need a reboot.")
    destroys: dict[str, list[str]] = Field(
        default_factory=dict, description="vmid -> keys whose volumes applying the plan destroys (needs confirmation)."
    )


class FleetApplyResult(FleetResult):
    refused: list[int] = Field(
        default_factory=list,
        description="Guests refused because their config changed since the plan (nothing written).",
    )


FLEET_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="plan_fleet_config",
        module="fleet_config",
        args=PlanFleetConfigArgs,
        result=FleetPlanResult,
        title="Plan a configuration change of many guests",
        description="Compute, without writing anything, what pve.config.fleet_config would change on many guests: "
        "chosen by select (tags, pools, nodes, types, names, vmids) with one config/absent, or listed in guests "
        "each with its own. Returns each guest's diff, steps and predicted reboots, totals, and a signed plan_id "
        "that apply_fleet_config takes: it pins the guests and each one's config digest, and expires (expires_at). "
        "Every chosen guest must be in the bridge's allow-list.",
        annotations=_hints(read_only=True, idempotent=True),
        mode="fleet_plan",
    ),
    ToolSpec(
        name="apply_fleet_config",
        module="fleet_config",
        args=ApplyFleetConfigArgs,
        result=FleetApplyResult,
        title="Apply a planned configuration change of many guests",
        description="Apply a plan of plan_fleet_config to exactly its guests, concurrently. A guest whose config "
        "changed since the plan is refused (nothing is written to it) and listed in refused; the other guests go "
        "on. Sends progress notifications (guests done of the total). A plan that destroys volumes needs the "
        "user's confirmation.",
        annotations=_hints(destructive=True, idempotent=True),  # again: every guest is refused by its digest
        confirm=True,
        mode="fleet_apply",
    ),
)

"""Plan signing and verification (mcp_bridge/plans.py) and the plan key's configuration, without any run."""

from __future__ import annotations

import base64
import json
import os

import pytest

from mcp_bridge.config import ConfigError, load
from mcp_bridge.plans import PlanInvalid, PlanSigner
from mcp_bridge.runner import run_environment

KEY = b"k" * 32
OTHER = b"o" * 32
PLAN = dict(
    vmid=100,
    guest_type="qemu",
    config={"memory": 4096, "net0": {"tag": None}},
    absent=["ide2"],
    destroys=[],
    digest="a" * 40,
)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def payload(plan_id: str) -> dict:
    body = plan_id.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def with_payload(plan_id: str, data: dict) -> str:
    prefix, _body, mac = plan_id.split(".")
    body = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{prefix}.{body}.{mac}"


def test_a_plan_verifies_with_the_same_key_and_gives_the_module_options():
    clock = Clock()
    plan_id, plan = PlanSigner(KEY, 900, clock=clock).sign(**PLAN)
    replica = PlanSigner(KEY, 60, clock=clock)  # another bridge with the same key; its own ttl does not matter
    assert replica.verify(plan_id) == plan
    assert plan.expires - plan.issued == 900 and plan.expires_at == "2027-01-15T08:15:00Z"
    assert plan.module_args() == {
        "vmid": 100,
        "type": "qemu",
        "config": {"memory": 4096, "net0": {"tag": None}},
        "absent": ["ide2"],
        "purge": False,
        "if_digest": "a" * 40,
    }


def test_purge_is_sent_only_when_the_plan_destroys_a_volume():
    plan_id, plan = PlanSigner(KEY, 900).sign(**{**PLAN, "absent": ["scsi1"], "destroys": ["scsi1"]})
    assert plan.module_args()["purge"] is True and PlanSigner(KEY, 900).verify(plan_id).destroys == ["scsi1"]


@pytest.mark.parametrize(
    "change",
    [
        {"vmid": 101},  # another guest
        {"digest": "b" * 40},  # another config
        {"destroys": []},  # dropping the destroy list (and so the confirmation)
        {"config": {"memory": 64}},
        {"exp": 4_000_000_000},  # a longer life
    ],
)
def test_a_changed_payload_is_refused(change):
    signer = PlanSigner(KEY, 900)
    plan_id, _plan = signer.sign(**{**PLAN, "destroys": ["scsi1"]})
    tampered = with_payload(plan_id, {**payload(plan_id), **change})
    with pytest.raises(PlanInvalid, match="changed after it was made"):
        signer.verify(tampered)


def test_a_changed_mac_or_a_malformed_id_is_refused():
    signer = PlanSigner(KEY, 900)
    plan_id, _plan = signer.sign(**PLAN)
    prefix, body, mac = plan_id.split(".")
    flipped = ("B" if mac[0] == "A" else "A") + mac[1:]
    with pytest.raises(PlanInvalid, match="changed after it was made"):
        signer.verify(f"{prefix}.{body}.{flipped}")
    for bad in ("", "pvecfg-plan-1", f"pvecfg-plan-2.{body}.{mac}", f"{prefix}..{mac}", f"{prefix}.{body}."):
        with pytest.raises(PlanInvalid, match="not a plan made by plan_guest_config"):
            signer.verify(bad)


def test_a_plan_signed_with_another_key_is_refused_and_says_so():
    plan_id, _plan = PlanSigner(OTHER, 900).sign(**PLAN)
    with pytest.raises(PlanInvalid, match="signed with another plan key"):
        PlanSigner(KEY, 900).verify(plan_id)
    with pytest.raises(PlanInvalid, match="generated its plan key at start"):
        PlanSigner(None, 900).verify(plan_id)


def test_a_generated_key_is_random_per_signer():
    first, second = PlanSigner(None, 900), PlanSigner(None, 900)
    assert first.generated and len(first.key) == 32 and first.key != second.key
    plan_id, _plan = first.sign(**PLAN)
    assert first.verify(plan_id).vmid == 100
    with pytest.raises(PlanInvalid):
        second.verify(plan_id)


def test_an_expired_plan_is_refused():
    clock = Clock()
    signer = PlanSigner(KEY, 900, clock=clock)
    plan_id, _plan = signer.sign(**PLAN)
    clock.now += 899
    assert signer.verify(plan_id).vmid == 100
    clock.now += 1
    with pytest.raises(PlanInvalid, match="expired at 2027-01-15T08:15:00Z; make a new plan"):
        signer.verify(plan_id)


def test_a_short_key_is_refused():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        PlanSigner(b"short", 900)


def test_plan_key_from_the_environment_file_or_nowhere(tmp_path):
    assert load(None, environ={}).bridge.plan_key_bytes() is None
    config = load(None, environ={"PVE_MCP_PLAN_KEY": "e" * 40})
    assert config.bridge.plan_key_bytes() == b"e" * 40
    assert "e" * 40 in config.secrets()  # redacted from results and the audit log like the other secrets
    assert "e" * 40 not in repr(config)
    key_file = tmp_path / "plan.key"
    key_file.write_bytes(b"f" * 48 + b"\n")
    key_file.chmod(0o600)
    config = load(None, environ={}, overrides={"bridge": {"plan_key_file": str(key_file), "plan_ttl": 60}})
    assert config.bridge.plan_key_bytes() == b"f" * 48 and config.bridge.plan_ttl == 60


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [(b"g" * 40, 0o644, "readable by others"), (b"\n", 0o600, "is empty"), (None, 0o600, "cannot read")],
)
def test_bad_plan_key_files_are_refused(tmp_path, content, mode, message):
    key_file = tmp_path / "plan.key"
    if content is not None:
        key_file.write_bytes(content)
        key_file.chmod(mode)
    config = load(None, environ={}, overrides={"bridge": {"plan_key_file": str(key_file)}})
    with pytest.raises(ConfigError, match=message):
        config.bridge.plan_key_bytes()


def test_plan_ttl_must_be_positive():
    with pytest.raises(ConfigError, match="plan_ttl"):
        load(None, environ={}, overrides={"bridge": {"plan_ttl": 0}})


def test_a_config_file_with_a_plan_key_must_be_private(tmp_path):
    path = tmp_path / "bridge.toml"
    path.write_text('[bridge]\nplan_key = "' + "h" * 40 + '"\n')
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="holds a secret but is readable by others"):
        load(path, environ={})
    path.chmod(0o600)
    assert load(path, environ={}).bridge.plan_key_bytes() == b"h" * 40


def test_runs_never_inherit_the_plan_key():
    prepared = {"PVE_MCP_PLAN_KEY": "e" * 40, "PATH": os.environ.get("PATH", "/usr/bin")}
    assert "PVE_MCP_PLAN_KEY" not in run_environment(prepared, {}, [])

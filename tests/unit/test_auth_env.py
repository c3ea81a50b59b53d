"""The PROXMOX_* environment fallbacks reach the API and the secret never reaches the output."""

import contextlib
import importlib
import io
import json

import pytest
import responses
from ansible.module_utils.testing import patch_module_args
from harness import pending, url

SECRET = "env-secret-7f3a9c1e"


def run_without_auth_args(args):
    module = importlib.import_module("ansible_collections.pve.config.plugins.modules.vm_resources")
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        module.main()
    return out.getvalue()


def test_token_from_environment(monkeypatch):
    monkeypatch.setenv("PROXMOX_HOST", "pve.test")
    monkeypatch.setenv("PROXMOX_USER", "automation@pve")
    monkeypatch.setenv("PROXMOX_TOKEN_ID", "ci")
    monkeypatch.setenv("PROXMOX_TOKEN_SECRET", SECRET)
    with responses.RequestsMock() as mock:
        mock.get(url("nodes/pve1/qemu/100/pending"), json=pending({"cores": 2}))
        out = run_without_auth_args(dict(vmid=100, node="pve1", cores=2))
        assert mock.calls[0].request.headers["Authorization"] == f"PVEAPIToken=automation@pve!ci={SECRET}"
    result = json.loads(out)
    assert result["changed"] is False and not result.get("failed")
    assert SECRET not in out


def test_missing_credentials_is_a_clear_error(monkeypatch):
    for var in ("PROXMOX_PASSWORD", "PROXMOX_TOKEN_ID", "PROXMOX_TOKEN_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PROXMOX_HOST", "pve.test")
    with responses.RequestsMock() as mock:
        out = run_without_auth_args(dict(vmid=100, node="pve1", cores=2))
        assert len(mock.calls) == 0
    result = json.loads(out)
    assert result["failed"] and "api_password" in result["msg"] and "api_token_id" in result["msg"]

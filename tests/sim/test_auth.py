"""Authentication: API token, ticket + CSRF, and the 401 answers."""

import re

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import AuthenticationError, ResourceException

from pve_sim.testing import proxmox_client


def test_token_auth_reads_version(sim_api):
    assert sim_api.version.get() == {"version": "9.1.2", "release": "9.1", "repoid": "2f7c7e0d"}


def test_token_request_is_logged_with_the_token_user(sim, sim_api):
    sim_api.nodes.get()
    entry = sim.simulator.requests()[-1]
    assert (entry["method"], entry["path"], entry["status"], entry["user"], entry["auth"]) == (
        "GET",
        "/nodes",
        200,
        "root@pam!pve-config",
        "token",
    )


def test_bad_token_secret_is_401_invalid_token_value(sim):
    api = ProxmoxAPI(
        sim.host, port=sim.port, user="root@pam", token_name="pve-config", token_value="wrong", verify_ssl=sim.ca_path
    )
    with pytest.raises(ResourceException) as exc:
        api.version.get()
    assert exc.value.status_code == 401
    assert exc.value.content == "invalid token value!"


def test_unknown_token_name_is_401(sim):
    api = ProxmoxAPI(
        sim.host,
        port=sim.port,
        user="root@pam",
        token_name="other",
        token_value=sim.token_secret,
        verify_ssl=sim.ca_path,
    )
    with pytest.raises(ResourceException) as exc:
        api.version.get()
    assert (exc.value.status_code, exc.value.content) == (401, "no such token 'other' for user 'root@pam'")


def test_no_credentials_is_401_no_ticket_with_empty_body(sim):
    resp = requests.get(sim.api_url + "/version", verify=sim.ca_path, timeout=10)
    assert (resp.status_code, resp.reason, resp.content) == (401, "No ticket", b"")


def test_ticket_login_and_write_with_csrf(sim):
    api = proxmox_client(sim, password_auth=True)
    assert api.nodes("pve1").qemu(100).config.put(description="via ticket") is None
    assert api.nodes("pve1").qemu(100).config.get()["description"] == "via ticket"
    assert sim.simulator.requests()[-1]["auth"] == "ticket"


def test_ticket_answer_shape(sim):
    resp = requests.post(
        sim.api_url + "/access/ticket",
        data={"username": "root@pam", "password": sim.password},
        verify=sim.ca_path,
        timeout=10,
    )
    data = resp.json()["data"]
    assert resp.status_code == 200
    assert data["username"] == "root@pam"
    assert re.match(r"^PVE:root@pam:[0-9A-F]{8}::\S+$", data["ticket"]), data["ticket"]
    assert re.match(r"^[0-9A-F]{8}:\S+$", data["CSRFPreventionToken"]), data["CSRFPreventionToken"]


def test_wrong_password_fails_login(sim):
    with pytest.raises(AuthenticationError):
        ProxmoxAPI(sim.host, port=sim.port, user="root@pam", password="nope", verify_ssl=sim.ca_path)
    resp = requests.post(
        sim.api_url + "/access/ticket",
        data={"username": "root@pam", "password": "nope"},
        verify=sim.ca_path,
        timeout=10,
    )
    assert (resp.status_code, resp.reason) == (401, "authentication failure")
    assert resp.json() == {"data": None, "message": "authentication failure\n"}


def test_ticket_write_without_csrf_token_is_401(sim):
    login = requests.post(
        sim.api_url + "/access/ticket",
        data={"username": "root@pam", "password": sim.password},
        verify=sim.ca_path,
        timeout=10,
    ).json()["data"]
    cookies = {"PVEAuthCookie": login["ticket"]}
    resp = requests.put(
        sim.api_url + "/nodes/pve1/qemu/100/config",
        data={"cores": "4"},
        cookies=cookies,
        verify=sim.ca_path,
        timeout=10,
    )
    assert (resp.status_code, resp.reason) == (401, "Permission denied - invalid csrf token")
    ok = requests.put(
        sim.api_url + "/nodes/pve1/qemu/100/config",
        data={"cores": "4"},
        cookies=cookies,
        headers={"CSRFPreventionToken": login["CSRFPreventionToken"]},
        verify=sim.ca_path,
        timeout=10,
    )
    assert ok.status_code == 200


def test_forged_ticket_is_401(sim):
    resp = requests.get(
        sim.api_url + "/version",
        cookies={"PVEAuthCookie": "PVE:root@pam:6500000A::AAAA"},
        verify=sim.ca_path,
        timeout=10,
    )
    assert (resp.status_code, resp.reason) == (401, "permission denied - invalid PVE ticket")


def test_server_certificate_is_verified_against_the_ca(sim):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sim.api_url + "/version", verify=True, timeout=10)


def test_generic_auth_errors_mode():
    from pve_sim.simulator import Simulator

    s = Simulator(token_secret="a", generic_auth_errors=True)
    resp = s.handle_http("GET", "/api2/json/version", {"Authorization": "PVEAPIToken=root@pam!pve-config=b"})
    assert (resp.status, resp.reason) == (401, "Authentication failed!")

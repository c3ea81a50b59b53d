"""client: error mapping, token and ticket auth, host/port, TLS options, and secrets kept out of messages."""

from http import HTTPStatus

import pytest
import requests
from harness import AUTH, HOST, TOKEN_SECRET, PveErrorResponse, pve_error, requests_made, url
from proxmoxer.core import ResourceException

from ansible_collections.pve.config.plugins.module_utils.client import api_error, connect
from ansible_collections.pve.config.plugins.module_utils.errors import (
    ApiError,
    AuthFailed,
    ConfigChanged,
    GuestLocked,
    GuestNotFound,
    InvalidRequest,
    PveError,
)

PASSWORD = "pw-Hunter2-0d1e"
SECRETS = (PASSWORD, TOKEN_SECRET)
TICKET = {
    "data": {
        "ticket": "PVE:root@pam:65F00000::c2lnbmF0dXJl",
        "CSRFPreventionToken": "65F00000:csrf",
        "username": "root@pam",
    }
}


def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in str(text)


# (status, reason phrase = Proxmox's message, JSON errors, error type, words in msg, details)
MAPPING = [
    (
        401,
        "invalid token value!",
        None,
        AuthFailed,
        "Proxmox refused the credentials (PUT /x: invalid token value!)",
        {},
    ),
    (401, "", None, AuthFailed, "(PUT /x: Unauthorized)", {}),
    (
        400,
        "Parameter verification failed.",
        {"memory": "value must have a minimum value of 16\n", "cores": "type check ('integer') failed - got 'x'\n"},
        InvalidRequest,
        "Proxmox rejected the request PUT /x: cores: type check ('integer') failed - got 'x'; "
        "memory: value must have a minimum value of 16",
        {
            "errors": {
                "memory": "value must have a minimum value of 16\n",
                "cores": "type check ('integer') failed - got 'x'\n",
            }
        },
    ),
    (500, "VM 100 is locked (backup)", None, GuestLocked, "VM 100 is locked (backup)", {"lock": "backup"}),
    (
        500,
        "CT 200 is locked (snapshot-delete)",
        None,
        GuestLocked,
        "CT 200 is locked (snapshot-delete)",
        {"lock": "snapshot-delete"},
    ),
    (
        500,
        "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout",
        None,
        GuestLocked,
        "can't lock file",
        {"lock": "config file"},
    ),
    (
        500,
        "detected modified configuration - file changed by other user? Try again.",
        None,
        ConfigChanged,
        "detected modified configuration",
        {},
    ),
    (
        500,
        "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist",
        None,
        GuestNotFound,
        "100.conf' does not exist",
        {},
    ),
    (
        500,
        "unable to create VM 100 - lvcreate failed",
        None,
        ApiError,
        "Proxmox API error on PUT /x: 500 unable to create VM 100 - lvcreate failed",
        {},
    ),
    (
        403,
        "Permission check failed (/vms/100, VM.Config.Memory)",
        None,
        ApiError,
        "Proxmox API error on PUT /x: 403 Permission check failed (/vms/100, VM.Config.Memory)",
        {},
    ),
    (595, "Connection refused", None, ApiError, "595 Connection refused", {}),
]


@pytest.mark.parametrize("status, message, errors, error, words, details", MAPPING)
def test_api_error_mapping(status, message, errors, error, words, details):
    exc = ResourceException(status, HTTPStatus(status).phrase if status < 595 else "", message, errors=errors)
    mapped = api_error("PUT", "/x", exc)
    assert mapped.__class__ is error
    assert words in mapped.msg
    assert mapped.details == details
    if error is ApiError:
        assert mapped.status == status


@pytest.mark.parametrize("status, message, errors, error, words, details", MAPPING)
def test_error_mapping_over_http(api, pve, status, message, errors, error, words, details):
    if errors:
        api.put(url("x"), status=status, json={"data": None, "errors": errors})
    else:
        pve_error(api, "PUT", "x", message, status=status)
    with pytest.raises(error) as exc:
        pve.put("/x", cores=2)
    assert words in exc.value.msg
    assert_no_secret(exc.value.msg)
    assert_no_secret(exc.value.details)


def test_400_without_json_errors_is_a_plain_api_error(api, pve):
    api.put(url("x"), status=400, body="<html>Bad Request</html>")
    with pytest.raises(ApiError) as exc:
        pve.put("x", cores=2)
    assert exc.value.__class__ is ApiError and exc.value.details == {}


def test_a_body_that_is_not_json_is_an_error_not_data(api, pve):
    api.get(url("cluster/resources"), body="<html>captive portal</html>")
    with pytest.raises(ApiError, match="GET cluster/resources at pve.test answered with something that is not Proxmox"):
        pve.get("cluster/resources")


def test_token_auth_sends_the_token_header_and_no_ticket_request(api):
    pve = connect(dict(AUTH, api_user="automation@pve"))
    api.get(url("version"), json={"data": {"version": "9.1"}})
    assert pve.get("version") == {"version": "9.1"}
    assert len(api.calls) == 1
    assert api.calls[0].request.headers["Authorization"] == f"PVEAPIToken=automation@pve!ci={TOKEN_SECRET}"


def test_token_user_defaults_to_root_pam(api):
    pve = connect(dict(api_host=HOST, api_token_id="ci", api_token_secret=TOKEN_SECRET))
    api.get(url("version"), json={"data": {}})
    pve.get("version")
    assert api.calls[0].request.headers["Authorization"].startswith("PVEAPIToken=root@pam!ci=")


def test_password_auth_gets_a_ticket_then_sends_cookie_and_csrf(api):
    api.post(url("access/ticket"), json=TICKET)
    pve = connect(dict(api_host=HOST, api_user="root@pam", api_password=PASSWORD))
    api.get(url("version"), json={"data": {}})
    api.put(url("nodes/pve1/qemu/100/config"), json={"data": None})
    pve.get("version")
    pve.put("nodes/pve1/qemu/100/config", cores=2)
    login, get, put = (c.request for c in api.calls)
    assert (login.method, login.url) == ("POST", url("access/ticket"))
    assert "password=" + PASSWORD in login.body and "username=root%40pam" in login.body
    assert get.headers["Cookie"] == "PVEAuthCookie=" + TICKET["data"]["ticket"]
    assert "CSRFPreventionToken" not in get.headers
    assert put.headers["CSRFPreventionToken"] == TICKET["data"]["CSRFPreventionToken"]
    assert "Authorization" not in put.headers


def test_refused_password(api):
    api.post(url("access/ticket"), status=401, json={"data": None})
    with pytest.raises(AuthFailed) as exc:
        connect(dict(api_host=HOST, api_user="admin@pve", api_password=PASSWORD))
    assert exc.value.msg == "Proxmox refused the credentials of admin@pve at pve.test"


def test_login_that_fails_for_another_reason_is_not_called_refused_credentials(api):
    api.post(url("access/ticket"), status=503, json={"data": None})
    with pytest.raises(ApiError) as exc:
        connect(dict(api_host=HOST, api_user="admin@pve", api_password=PASSWORD))
    assert exc.value.__class__ is ApiError and exc.value.status == 503
    assert exc.value.msg == "login of admin@pve at pve.test failed: POST /access/ticket answered HTTP 503"
    assert_no_secret(exc.value.msg)


def test_unreachable_login(api):
    api.post(url("access/ticket"), body=requests.exceptions.ConnectionError("Name or service not known"))
    with pytest.raises(ApiError, match="cannot reach the Proxmox API at pve.test: Name or service not known"):
        connect(dict(api_host=HOST, api_password=PASSWORD))


def test_no_credentials():
    with pytest.raises(InvalidRequest, match="give api_token_id with api_token_secret, or api_password"):
        connect(dict(api_host=HOST, api_user="root@pam"))


@pytest.mark.parametrize(
    "host, port, base",
    [
        ("pve.test", None, "https://pve.test:8006/api2/json/"),
        ("pve.test", 8443, "https://pve.test:8443/api2/json/"),
        ("pve.test:8007", None, "https://pve.test:8007/api2/json/"),
        ("pve.test:8007", 8443, "https://pve.test:8007/api2/json/"),  # the port in the host wins
        ("10.0.0.5:8006", None, "https://10.0.0.5:8006/api2/json/"),
        ("fe80::1", None, "https://[fe80::1]:8006/api2/json/"),
        ("[fe80::1]:8443", None, "https://[fe80::1]:8443/api2/json/"),
    ],
)
def test_host_and_port(api, host, port, base):
    pve = connect(dict(AUTH, api_host=host, api_port=port))
    api.get(base + "version", json={"data": {}})
    pve.get("version")
    assert api.calls[0].request.url == base + "version"


def test_host_with_a_port_that_is_not_a_number():
    with pytest.raises(InvalidRequest, match="api_host 'pve.test:abc': the part after ':' must be a port number"):
        connect(dict(AUTH, api_host="pve.test:abc"))


@pytest.mark.parametrize(
    "options, verify",
    [
        (dict(validate_certs=False), False),
        (dict(validate_certs=False, ca_path="/etc/pve/pve-root-ca.pem"), False),
        (dict(validate_certs=True, ca_path="/etc/pve/pve-root-ca.pem"), "/etc/pve/pve-root-ca.pem"),
    ],
)
def test_certificate_verification(api, monkeypatch, options, verify):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    pve = connect(dict(AUTH, **options))
    api.get(url("version"), json={"data": {}})
    pve.get("version")
    assert api.calls[0].request.req_kwargs["verify"] == verify


def test_certificates_are_verified_by_default(api, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    pve = connect(dict(AUTH))
    api.get(url("version"), json={"data": {}})
    pve.get("version")
    assert api.calls[0].request.req_kwargs["verify"] is True


def test_timeout_is_passed_to_every_request(api):
    pve = connect(dict(AUTH, api_timeout=7))
    api.get(url("version"), json={"data": {}})
    pve.get("version")
    assert api.calls[0].request.req_kwargs["timeout"] == 7


def test_tls_failure_points_to_ca_path(api, pve):
    api.get(url("version"), body=requests.exceptions.SSLError("certificate verify failed: self-signed certificate"))
    with pytest.raises(ApiError) as exc:
        pve.get("version")
    assert exc.value.msg == (
        "TLS verification of pve.test failed (set ca_path to the CA bundle that signed the "
        "Proxmox certificate): certificate verify failed: self-signed certificate"
    )


def test_timeout_is_reported_as_unreachable(api, pve):
    api.get(url("version"), body=requests.exceptions.ReadTimeout("Read timed out. (read timeout=7)"))
    with pytest.raises(ApiError, match="cannot reach the Proxmox API at pve.test: Read timed out"):
        pve.get("version")


@pytest.mark.parametrize("auth", [dict(AUTH), dict(api_host=HOST, api_password=PASSWORD)])
def test_no_error_message_contains_a_secret(api, auth):
    """Every failure path, with secrets that the server even echoes back, never puts them in a message."""
    if "api_password" in auth:
        api.post(url("access/ticket"), json=TICKET)
    pve = connect(auth)
    answers = [
        PveErrorResponse("GET", "a", "authentication failure", status=401),
        PveErrorResponse("GET", "b", "VM 100 is locked (backup)"),
        PveErrorResponse("GET", "c", "detected modified configuration"),
        PveErrorResponse("GET", "d", "Configuration file 'x.conf' does not exist"),
        PveErrorResponse("GET", "e", "internal error"),
    ]
    for answer in answers:
        api.add(answer)
    api.get(url("f"), status=400, json={"data": None, "errors": {"memory": "bad"}})
    api.get(url("g"), body=requests.exceptions.ConnectionError("connection reset"))
    api.get(url("h"), body=requests.exceptions.SSLError("bad certificate"))
    api.get(url("i"), body="<html>not json</html>")
    for path in "abcdefghi":
        with pytest.raises(PveError) as exc:
            pve.get(path, secret_probe="x")
        assert_no_secret(exc.value.msg)
        assert_no_secret(exc.value.details)
        assert_no_secret(repr(exc.value))


@pytest.mark.parametrize("status", [401, 500, 503])
def test_login_failures_never_show_the_password(api, status):
    api.post(url("access/ticket"), status=status, json={"data": None, "message": "login failed for " + PASSWORD})
    with pytest.raises(PveError) as exc:
        connect(dict(api_host=HOST, api_password=PASSWORD))
    assert_no_secret(exc.value.msg)
    assert_no_secret(repr(exc.value))


@pytest.mark.parametrize(
    "path",
    ["nodes/pve1/../access", "nodes/pve1//qemu", "nodes/./x", "nodes/pve1 /qemu", "nodes/pve1?x=1/qemu", "nodes/a#b"],
)
def test_paths_with_unchecked_segments_are_refused_before_sending(api, pve, path):
    with pytest.raises(InvalidRequest) as exc:
        pve.get(path)
    assert exc.value.msg.startswith(f"refusing to send a request to the API path {path!r} (bad segment ")
    assert requests_made(api) == []


def test_a_upid_path_is_a_valid_path(api, pve):
    upid = "UPID:pve1:000A1B2C:0012D687:67A0B1C2:qmconfig:100:root@pam!ci:"
    api.get(url(f"nodes/pve1/tasks/{upid}/status"), json={"data": {"status": "running"}})
    assert pve.get(f"nodes/pve1/tasks/{upid}/status") == {"status": "running"}

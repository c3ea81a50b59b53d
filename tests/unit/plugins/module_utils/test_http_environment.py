"""http_environment: the environment's proxies and CA bundle, read once per session, are those requests itself would
use for the API host, on every request, and a change of the environment after connecting is not looked up again."""

import os

import pytest
import requests
from harness import AUTH, url

from ansible_collections.pve.config.plugins.module_utils.client import connect

PROXY = "http://proxy.example:3128"
ENV = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENV + ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def what_requests_would_use(request_url, verify):
    """The settings a plain requests session (trusting the environment) computes for one request."""
    return requests.Session().merge_environment_settings(request_url, {}, None, verify, None)


def sent_with(api, pve, times=3):
    """The ``proxies`` and ``verify`` of ``times`` GETs through ``pve``, as the transport received them."""
    api.get(url("version"), json={"data": {}})
    for _time in range(times):
        pve.get("version")
    return [(call.request.req_kwargs["proxies"], call.request.req_kwargs["verify"]) for call in api.calls]


@pytest.mark.parametrize(
    "environment, options",
    [
        ({}, {}),
        ({"HTTPS_PROXY": PROXY}, {}),
        ({"https_proxy": PROXY, "no_proxy": "pve.test"}, {}),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": ".example,.test"}, {}),
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/pve-ca.pem"}, {}),
        ({"CURL_CA_BUNDLE": "/etc/ssl/curl-ca.pem"}, {}),
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/pve-ca.pem"}, {"ca_path": "/etc/pve/pve-root-ca.pem"}),
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/pve-ca.pem", "HTTPS_PROXY": PROXY}, {"validate_certs": False}),
    ],
)
def test_every_request_gets_what_requests_would_take_from_the_environment(api, monkeypatch, environment, options):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    pve = connect(dict(AUTH, **options))
    verify = False if options.get("validate_certs") is False else options.get("ca_path", True)
    want = what_requests_would_use(url("version"), verify)
    assert sent_with(api, pve) == [(want["proxies"], want["verify"])] * 3


def test_a_proxy_applies_and_no_proxy_exempts_the_host(api, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    assert sent_with(api, connect(dict(AUTH)), times=1)[0][0]["https"] == PROXY
    monkeypatch.setenv("NO_PROXY", "pve.test")
    assert "https" not in sent_with(api, connect(dict(AUTH)), times=1)[1][0]


def test_the_environment_is_read_once_at_connect(api, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/pve-ca.pem")
    pve = connect(dict(AUTH))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/elsewhere.pem")
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    assert sent_with(api, pve, times=2) == [({}, "/etc/ssl/pve-ca.pem")] * 2


def test_no_environment_lookup_per_request(api, monkeypatch):
    pve = connect(dict(AUTH))
    api.get(url("version"), json={"data": {}})
    looked_up = []
    real = os.environ.__class__.__iter__

    def counting_iter(environ):
        looked_up.append(1)
        return real(environ)

    monkeypatch.setattr(os.environ.__class__, "__iter__", counting_iter)
    for _time in range(5):
        pve.get("version")
    assert len(api.calls) == 5
    assert looked_up == []

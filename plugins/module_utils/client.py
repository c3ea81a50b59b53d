# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection to the Proxmox VE API: auth options, the proxmoxer session, and error mapping.

PRIVATE to the pve.config collection.

Option names and ``PROXMOX_*`` environment fallbacks follow community.proxmox, so existing environments
and ``module_defaults`` carry over. Every HTTP error is mapped to a ``PveError`` here, in one place.
"""

from __future__ import annotations

import re
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.pve.config.plugins.module_utils.errors import (
    ApiError,
    AuthFailed,
    ConfigChanged,
    GuestLocked,
    GuestNotFound,
    InvalidRequest,
    PveError,
)
from ansible_collections.pve.config.plugins.module_utils.http_environment import settle

try:
    import requests
    from proxmoxer import AuthenticationError, ProxmoxAPI
    from proxmoxer.core import ResourceException

    HAS_PROXMOXER = True
    PROXMOXER_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by check_dependencies()
    HAS_PROXMOXER = False
    PROXMOXER_IMPORT_ERROR = traceback.format_exc()

AUTH_ARGSPEC = dict(
    api_host=dict(type="str", required=True, fallback=(env_fallback, ["PROXMOX_HOST"])),
    api_port=dict(type="int", fallback=(env_fallback, ["PROXMOX_PORT"])),
    api_user=dict(type="str", fallback=(env_fallback, ["PROXMOX_USER"])),
    api_password=dict(type="str", no_log=True, fallback=(env_fallback, ["PROXMOX_PASSWORD"])),
    api_token_id=dict(type="str", no_log=False, fallback=(env_fallback, ["PROXMOX_TOKEN_ID"])),
    api_token_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["PROXMOX_TOKEN_SECRET"])),
    validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["PROXMOX_VALIDATE_CERTS"])),
    ca_path=dict(type="path", fallback=(env_fallback, ["PROXMOX_CA_PATH"])),
    api_timeout=dict(type="int", default=30, fallback=(env_fallback, ["PROXMOX_TIMEOUT"])),
)
AUTH_REQUIRED_TOGETHER = [("api_token_id", "api_token_secret")]
AUTH_REQUIRED_ONE_OF = [("api_password", "api_token_id")]

# PVE::AbstractConfig::check_lock says "VM is locked (backup)" / "CT is locked (...)", without the vmid.
LOCKED = re.compile(r"\b(?:VM|CT)(?: \d+)? is locked \((?P<lock>[^)]*)\)")
FILE_LOCK = re.compile(r"can't lock file '[^']*' - got timeout")
# A stale digest: LXC (PVE::Tools::assert_if_modified) "detected modified configuration - ...";
# QEMU config and resize "checksum mismatch (file change by other user?)" (older qemu-server: "missmatch").
DIGEST = re.compile(r"detected modified configuration|checksum mis+match")
MISSING_CONFIG = re.compile(r"Configuration file '[^']*' does not exist")
PATH_SEGMENT = re.compile(r"[A-Za-z0-9_.:@!=-]+")
LOGIN_CODE = re.compile(r"\bcode: (\d{3})\b")  # proxmoxer's AuthenticationError names the HTTP status


def check_dependencies(module):
    if not HAS_PROXMOXER:
        module.fail_json(msg=missing_required_lib("proxmoxer and requests"), exception=PROXMOXER_IMPORT_ERROR)


class PveApi(object):
    """A thin layer over proxmoxer: path strings in, data out, ``PveError`` on any failure."""

    def __init__(self, proxmox, host):
        self._proxmox = proxmox
        self.host = host

    def keep_connections(self, count):
        """Let the session keep up to ``count`` connections to the host open, for ``count`` threads sharing it.

        requests' default HTTPAdapter keeps 10 per host (``DEFAULT_POOLSIZE``, requests/adapters.py); with more
        threads urllib3 opens further connections and discards each after its request ("Connection pool is
        full"), a TLS handshake per request. Token auth adds a header per request (no shared state); ticket
        auth renews its ticket after an hour (proxmoxer backends/https.py ``renew_age``), at worst once per
        thread.
        """
        session = self._proxmox._store["session"]
        session.mount("https://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=count))
        return self

    def get(self, path, **params):
        return self._call("GET", path, params)

    def post(self, path, **data):
        return self._call("POST", path, data)

    def put(self, path, **data):
        return self._call("PUT", path, data)

    def delete(self, path, **params):
        return self._call("DELETE", path, params)

    def _call(self, method, path, args):
        resource = self._proxmox(checked_path(path))
        try:
            data = getattr(resource, method.lower())(**args)
        except ResourceException as exc:
            raise api_error(method, path, exc) from None
        except requests.exceptions.SSLError as exc:
            raise ApiError(
                "TLS verification of %s failed (set ca_path to the CA bundle that signed the Proxmox "
                "certificate): %s" % (self.host, _first_line(exc))
            ) from None
        except requests.exceptions.RequestException as exc:
            raise ApiError("cannot reach the Proxmox API at %s: %s" % (self.host, _first_line(exc))) from None
        if _not_json(data):  # proxmoxer's stand-in for a body that is not JSON (a proxy's HTML page...)
            raise ApiError(
                "%s %s at %s answered with something that is not Proxmox API JSON: %r"
                % (method, path, self.host, data["errors"][:200])
            )
        return data


def checked_path(path):
    """``path`` without its outer slashes, refused when a segment is empty, ``.``/``..`` or holds characters no
    Proxmox path component has (node names, VM IDs, UPIDs, storage IDs: letters, digits, ``-_.:@!=``).

    The last line of defence against a path built from unchecked input (``node: pve1/../../access``):
    proxmoxer joins the segments into the URL as they are.
    """
    stripped = path.strip("/")
    for segment in stripped.split("/"):
        if segment in ("", ".", "..") or not PATH_SEGMENT.fullmatch(segment):
            raise InvalidRequest("refusing to send a request to the API path %r (bad segment %r)" % (path, segment))
    return stripped


def _not_json(data):
    return isinstance(data, dict) and list(data) == ["errors"] and isinstance(data["errors"], bytes)


def api_error(method, path, exc):
    """Map proxmoxer's ResourceException to a typed error with Proxmox's own message."""
    message = (exc.content or exc.status_message or "").strip()
    errors = exc.errors if isinstance(exc.errors, dict) and not _not_json(exc.errors) else None
    where = "%s %s" % (method, path)
    if exc.status_code == 401:
        return AuthFailed("Proxmox refused the credentials (%s: %s)" % (where, message or "401"))
    if exc.status_code == 400 and errors:
        detail = "; ".join("%s: %s" % (k, str(v).strip()) for k, v in sorted(errors.items()))
        return InvalidRequest("Proxmox rejected the request %s: %s" % (where, detail), errors=errors)
    known = error_for_message(message)
    if known:
        return known
    return ApiError("Proxmox API error on %s: %s %s" % (where, exc.status_code, message), status=exc.status_code)


def error_for_message(message, **details):
    """The typed error for one of Proxmox's known messages (lock, stale digest, missing config), else None.

    Used for HTTP errors and for the exit status of tasks: a POST /config or a VM resize checks the digest
    and the lock inside its task, so those failures arrive as the task's exit status.
    """
    lock = LOCKED.search(message)
    if lock:
        return GuestLocked(message, lock=lock.group("lock"), **details)
    if FILE_LOCK.search(message):
        return GuestLocked(message, lock="config file", **details)
    if DIGEST.search(message):
        return ConfigChanged(message, **details)
    if MISSING_CONFIG.search(message):
        return GuestNotFound(message, **details)
    return None


def _first_line(exc):
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def connect(params):
    """Open a session from the auth options (``AUTH_ARGSPEC``); never puts secrets into messages."""
    if not HAS_PROXMOXER:
        raise PveError("proxmoxer and requests are required on the host that runs this module")
    host = params["api_host"]
    if host.count(":") == 1 and not host.rsplit(":", 1)[1].isdigit():
        raise InvalidRequest("api_host %r: the part after ':' must be a port number" % host)
    kwargs = dict(timeout=params.get("api_timeout") or 30)
    if params.get("api_port"):
        kwargs["port"] = params["api_port"]
    if params.get("validate_certs", True):
        kwargs["verify_ssl"] = params.get("ca_path") or True
    else:
        kwargs["verify_ssl"] = False
    user = params.get("api_user") or "root@pam"
    if params.get("api_token_id"):
        kwargs.update(user=user, token_name=params["api_token_id"], token_value=params["api_token_secret"])
    elif params.get("api_password"):
        kwargs.update(user=user, password=params["api_password"])
    else:
        raise InvalidRequest(
            "give api_token_id with api_token_secret, or api_password (or PROXMOX_TOKEN_ID/"
            "PROXMOX_TOKEN_SECRET or PROXMOX_PASSWORD in the environment)"
        )
    try:
        proxmox = ProxmoxAPI(host, **kwargs)
    except AuthenticationError as exc:
        code = LOGIN_CODE.search(str(exc))
        if code and code.group(1) != "401":
            raise ApiError(
                "login of %s at %s failed: POST /access/ticket answered HTTP %s" % (user, host, code.group(1)),
                status=int(code.group(1)),
            ) from None
        raise AuthFailed("Proxmox refused the credentials of %s at %s" % (user, host)) from None
    except ResourceException as exc:
        raise api_error("POST", "/access/ticket", exc) from None
    except requests.exceptions.SSLError as exc:
        raise ApiError(
            "TLS verification of %s failed (set ca_path to the CA bundle that signed the Proxmox "
            "certificate): %s" % (host, _first_line(exc))
        ) from None
    except requests.exceptions.RequestException as exc:
        raise ApiError("cannot reach the Proxmox API at %s: %s" % (host, _first_line(exc))) from None
    settle(proxmox._store["session"], proxmox._store["base_url"])  # proxies and CA bundle once, not per request
    return PveApi(proxmox, host)

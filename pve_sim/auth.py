# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Authentication like pveproxy: API tokens, tickets (``PVEAuthCookie``) and CSRF tokens.

* Token: ``Authorization: PVEAPIToken=<user>@<realm>!<tokenid>=<secret>`` (what proxmoxer
  sends); no CSRF token needed.
* Ticket: ``POST /access/ticket`` (username, password) returns ``ticket`` and
  ``CSRFPreventionToken``; later requests send the ticket in the ``PVEAuthCookie`` cookie
  (or ``Authorization: PVEAuthCookie=<ticket>``) and, for every method but GET, the
  ``CSRFPreventionToken`` header.

Failure answers are ``401`` with the reason phrase pve-manager's auth handler dies with.
``generic_errors=False`` (default) gives the detailed texts of pve-manager < 9.1.5
(``No ticket``, ``invalid token value!``, ``permission denied - invalid PVE ticket`` ...);
``generic_errors=True`` the unified ``Authentication failed!`` of pve-manager >= 9.1.5
(commit 26c10a2e, "http server: unify error message in case of auth failure").
``No ticket`` and the CSRF failure are the same in both.
"""

import base64
import hashlib
import hmac
import os
import re
import time
import urllib.parse

from .errors import ApiError, AuthError

TICKET_LIFETIME = 7200
AUTH_FREE = {("GET", "/access/ticket"), ("POST", "/access/ticket"), ("GET", "/access/domains")}
_TOKENID_RE = re.compile(r"^([^\s!@:]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$")


def extract_auth_value(header, key):
    """``PVE::APIServer::Formatter::extract_auth_value``."""
    if not header:
        return None
    m = re.search(r"(?:^|\s)%s(?:=| )([^;]*)" % re.escape(key), header)
    if not m or not m.group(1):
        return None
    return urllib.parse.unquote(m.group(1))


class Auth:
    def __init__(
        self, token_secret, password, user="root@pam", token_name="pve-config", generic_errors=False, clock=time.time
    ):
        self.user = user
        self.token_name = token_name
        self.token_id = "%s!%s" % (user, token_name)
        self.passwords = {user: password}
        self.tokens = {self.token_id: token_secret}
        self.generic_errors = generic_errors
        self.clock = clock
        self._key = os.urandom(32)
        self._csrf_key = os.urandom(32)

    # -- tickets -------------------------------------------------------------------------------

    def _sign(self, plain):
        return base64.b64encode(hmac.new(self._key, plain.encode(), hashlib.sha256).digest()).decode()

    def make_ticket(self, username):
        plain = "PVE:%s:%08X" % (urllib.parse.quote(username, safe="@!"), int(self.clock()))
        return "%s::%s" % (plain, self._sign(plain))

    def make_csrf(self, username):
        """``PVE::Ticket::assemble_csrf_prevention_token``: ``<hex time>:<hmac>``."""
        return self.make_csrf_at(username, "%08X" % int(self.clock()))

    def verify_ticket(self, ticket):
        m = re.match(r"^(PVE:(\S+):([A-Z0-9]{8}))::([^:\s]+)$", ticket or "")
        if m and hmac.compare_digest(self._sign(m.group(1)), m.group(4)):
            age = self.clock() - int(m.group(3), 16)
            username = urllib.parse.unquote(m.group(2))
            if -300 < age < TICKET_LIFETIME and username in self.passwords:
                return username
        raise AuthError("Authentication failed!" if self.generic_errors else "permission denied - invalid PVE ticket")

    def verify_csrf(self, username, token):
        m = re.match(r"^([A-Z0-9]{8}):(\S+)$", token or "")
        if m:
            expect = self.make_csrf_at(username, m.group(1))
            age = self.clock() - int(m.group(1), 16)
            if hmac.compare_digest(expect, token) and -300 < age < TICKET_LIFETIME:
                return
        raise AuthError("Permission denied - invalid csrf token")

    def make_csrf_at(self, username, ts):
        digest = (
            base64.b64encode(hmac.new(self._csrf_key, ("%s:%s" % (ts, username)).encode(), hashlib.sha256).digest())
            .decode()
            .rstrip("=")
        )
        return "%s:%s" % (ts, digest)

    def login(self, username, password, realm=None):
        """``POST /access/ticket``; wrong credentials -> 401 ``authentication failure``."""
        if realm and "@" not in username:
            username = "%s@%s" % (username, realm)
        if username in self.passwords and password is not None:
            if hmac.compare_digest(str(self.passwords[username]), str(password)):
                return username
            try:  # the password may also be a valid ticket (ticket renewal)
                if self.verify_ticket(password) == username:
                    return username
            except AuthError:
                pass
        raise ApiError("authentication failure\n", status=401)

    # -- tokens --------------------------------------------------------------------------------

    def verify_token(self, value):
        """``PVE::AccessControl::verify_token``."""
        m = re.match(r"^(.*)=(.*)$", value or "", re.S)
        if not m:
            raise AuthError(self._token_msg("no tokenid specified"))
        tokenid, secret = m.group(1), m.group(2)
        tm = _TOKENID_RE.match(tokenid)
        if not tm:
            raise AuthError(
                self._token_msg("'%s' is not a valid token ID - not able to split into user and token parts" % tokenid)
            )
        user, name = tm.group(1), tm.group(2)
        if user not in self.passwords:
            raise AuthError(self._token_msg("no such user ('%s')" % user))
        if tokenid not in self.tokens:
            raise AuthError(self._token_msg("no such token '%s' for user '%s'" % (name, user)))
        if not hmac.compare_digest(str(self.tokens[tokenid]), secret):
            raise AuthError(self._token_msg("invalid token value!"))
        return tokenid

    def _token_msg(self, detail):
        return "Authentication failed!" if self.generic_errors else detail

    # -- request -------------------------------------------------------------------------------

    def authenticate(self, method, rel_uri, headers):
        """Return ``(userid, kind)`` (kind: token|ticket|none) or raise AuthError (401)."""
        cookie = headers.get("Cookie")
        auth_header = headers.get("Authorization")
        ticket = extract_auth_value(cookie, "PVEAuthCookie") or extract_auth_value(auth_header, "PVEAuthCookie")
        api_token = None if ticket else extract_auth_value(auth_header, "PVEAPIToken")
        if (method, rel_uri) in AUTH_FREE:
            return None, "none"
        if api_token:
            return self.verify_token(api_token), "token"
        if not ticket:
            raise AuthError("No ticket")
        username = self.verify_ticket(ticket)
        if method != "GET":
            self.verify_csrf(username, headers.get("CSRFPreventionToken"))
        return username, "ticket"

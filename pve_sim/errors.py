# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Error types a handler raises, with the HTTP shape pve-http-server gives them.

pveproxy (``PVE::APIServer::AnyEvent`` + ``PVE::APIServer::Formatter::Standard``):

* the status line's reason phrase is the first line of the error message;
* the JSON body is ``{"data": null, "message": "<message>"}`` plus ``"errors": {...}`` when the
  exception carries per-parameter errors (``message`` in the json body since pve-http-server's
  fix for #6503, PVE 9);
* a parameter exception (``raise_param_exc``) is ``400 Parameter verification failed.``;
* a plain ``die`` in a handler is ``500 <message>``;
* authentication failures are answered before any handler runs: ``401 <message>`` with an
  empty body.
"""


class ApiError(Exception):
    """An error answer: status, message (reason = first line), optional per-parameter errors."""

    status = 500

    def __init__(self, message, status=None, errors=None, empty_body=False):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.errors = errors or None
        self.empty_body = empty_body

    @property
    def reason(self):
        first = self.message.split("\n", 1)[0]
        return first or "Internal Server Error"

    def body(self):
        if self.empty_body:
            return None
        out = {"data": None}
        if self.errors:
            out["errors"] = dict(self.errors)
        out["message"] = self.message
        return out


class ParamError(ApiError):
    """``raise_param_exc``: 400 ``Parameter verification failed.`` with ``errors``."""

    status = 400

    def __init__(self, errors):
        super().__init__("Parameter verification failed.\n", errors=errors)


class HandlerError(ApiError):
    """``die "...\\n"`` inside a handler: HTTP 500, the message as reason phrase."""

    status = 500

    def __init__(self, message, errors=None):
        if not message.endswith("\n"):
            message += "\n"
        super().__init__(message, errors=errors)


class AuthError(ApiError):
    """Authentication failure in pveproxy's auth handler: 401, reason = message, empty body."""

    status = 401

    def __init__(self, message):
        super().__init__(message, empty_body=True)


class NotImplementedApi(ApiError):
    """pveproxy's answer for a path/method without handler."""

    status = 501

    def __init__(self, method, rel_uri):
        super().__init__("Method '%s %s' not implemented" % (method, rel_uri))


class FormatDie(Exception):
    """A format validator's ``die``; the text ends with a newline like Perl's."""

    def __init__(self, message, errors=None):
        if not message.endswith("\n"):
            message += "\n"
        super().__init__(message)
        self.message = message
        self.errors = errors

    def perl_string(self):
        """How ``"$@"`` stringifies: message plus one ``key: value`` line per error."""
        text = self.message
        for key in sorted(self.errors or {}):
            text += "%s: %s\n" % (key, self.errors[key])
        return text

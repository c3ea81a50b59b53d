# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment's HTTP settings (proxies, CA bundle) read once per session instead of once per request.

PRIVATE to the pve.config collection.

A requests session that trusts the environment (``trust_env``, its default) reads it again for every request:
``Session.request`` calls ``merge_environment_settings``, which looks up the proxies for the URL
(``get_environ_proxies``: ``urllib.request.getproxies_environment`` walks the whole ``os.environ``, then the
``no_proxy`` check) and ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` when TLS is verified against the default
bundle (requests/sessions.py). That measured 0.3 ms of CPU per request with a hundred-odd environment variables,
a quarter of a fleet_config request's CPU in a profile, all of it under the GIL the worker threads share.

A module's environment does not change while it runs and every request of a session goes to the one API host, so
the answer is the same for every request: ``settle`` asks requests once (its own ``merge_environment_settings``
for the API's base URL), keeps the result in the session (its proxies) and in proxmoxer's auth (the ``verify``
proxmoxer passes with every request, proxmoxer/backends/https.py ``ProxmoxHttpSession.request``), and then
stops the per-request lookups (``trust_env = False``). The proxies, the ``no_proxy`` exemptions and the CA bundle
are exactly those requests would have used; ``.netrc`` is not involved (requests reads it only for a session
without auth, and proxmoxer's session always has its token or ticket auth).
"""

from __future__ import annotations


def settle(session, url):
    """Resolve ``session``'s environment settings for ``url`` (the API's base URL) once; returns ``session``."""
    auth = session.auth
    settings = session.merge_environment_settings(url, {}, None, auth.verify_ssl, None)
    session.proxies = settings["proxies"]
    auth.verify_ssl = settings["verify"]
    session.trust_env = False
    return session

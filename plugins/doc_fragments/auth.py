# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Connection and authentication, shared by every pve.config module.
    DOCUMENTATION = r"""
options:
  api_host:
    description:
      - Host name or IP address of a Proxmox VE node, optionally with the port (V(pve1.example.com:8006)).
      - If not set, the value of the E(PROXMOX_HOST) environment variable is used.
    type: str
    required: true
  api_port:
    description:
      - API port, when O(api_host) does not carry one. Proxmox VE listens on V(8006).
      - If not set, the value of the E(PROXMOX_PORT) environment variable is used.
    type: int
  api_user:
    description:
      - User to authenticate as, such as V(root@pam) or V(automation@pve). With an API token, the user that owns it.
      - If not set, the value of the E(PROXMOX_USER) environment variable is used; V(root@pam) when neither is set.
    type: str
  api_password:
    description:
      - Password of O(api_user) (ticket authentication).
      - If not set, the value of the E(PROXMOX_PASSWORD) environment variable is used.
      - Never shown in results or logs.
    type: str
  api_token_id:
    description:
      - Name of an API token of O(api_user), without the user part (V(automation) for V(root@pam!automation)).
      - If not set, the value of the E(PROXMOX_TOKEN_ID) environment variable is used.
    type: str
  api_token_secret:
    description:
      - Secret (UUID) of the API token O(api_token_id).
      - If not set, the value of the E(PROXMOX_TOKEN_SECRET) environment variable is used.
      - Never shown in results or logs.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificate of the API. Turn off only for throw-away labs; prefer O(ca_path).
      - If not set, the value of the E(PROXMOX_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - CA bundle (PEM) used to verify the API certificate, such as the cluster's C(/etc/pve/pve-root-ca.pem).
      - If not set, the value of the E(PROXMOX_CA_PATH) environment variable is used.
    type: path
  api_timeout:
    description:
      - Seconds to wait for each API request.
      - If not set, the value of the E(PROXMOX_TIMEOUT) environment variable is used.
    type: int
    default: 30
requirements:
  - proxmoxer >= 2.0
  - requests
notes:
  - Give either O(api_token_id) and O(api_token_secret), or O(api_password).
  - "The modules talk to the API over HTTPS from the host that runs them; use C(delegate_to: localhost) or
    C(connection: local) as with other API modules."
"""

    # The same options for controller plugins (the pve.config.guests inventory): modules get the PROXMOX_*
    # fallbacks from AUTH_ARGSPEC, plugins from these env entries. Use after pve.config.auth; Ansible merges the
    # two entries of each option (ansible.utils.plugin_docs.add_fragments). Kept apart because module docs take
    # no env entries (validate-modules).
    PLUGIN_ENV = r"""
options:
  api_host:
    env:
      - name: PROXMOX_HOST
  api_port:
    env:
      - name: PROXMOX_PORT
  api_user:
    env:
      - name: PROXMOX_USER
  api_password:
    env:
      - name: PROXMOX_PASSWORD
  api_token_id:
    env:
      - name: PROXMOX_TOKEN_ID
  api_token_secret:
    env:
      - name: PROXMOX_TOKEN_SECRET
  validate_certs:
    env:
      - name: PROXMOX_VALIDATE_CERTS
  ca_path:
    env:
      - name: PROXMOX_CA_PATH
  api_timeout:
    env:
      - name: PROXMOX_TIMEOUT
"""

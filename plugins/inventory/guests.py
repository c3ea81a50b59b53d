# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: guests
short_description: Proxmox VE guests (QEMU VMs and LXC containers) as inventory hosts
version_added: 1.0.0
description:
  - Makes every guest of a Proxmox VE cluster a host, from one C(GET /cluster/resources?type=vm).
  - "Host names are the guest names. When two guests share a name, both are named C(<name>_<vmid>) (V(web01_100));
    a guest the cluster has no name for yet (pvestatd has not reported it) is named by its vmid."
  - Sets the host variables C(pve_vmid), C(pve_node), C(pve_type) (V(qemu) or V(lxc)), C(pve_name),
    C(pve_status), C(pve_tags) (a list), C(pve_pool), C(pve_lock), C(pve_template) (a boolean) and, with
    O(want_config), C(pve_config).
  - "Adds each host to the groups C(pve_node_<node>), C(pve_type_<type>), C(pve_status_<status>),
    C(pve_tag_<tag>) for each of its tags and C(pve_pool_<pool>), with names made safe for Ansible."
  - Sets no connection variable; the plugin does not know how to reach a guest. Set C(ansible_host) and the
    like with O(compose), for example from a tag or from C(pve_config).
  - The inventory file name must end in C(.pve.yml) or C(.pve.yaml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - pve.config.auth
  - pve.config.auth.plugin_env
options:
  plugin:
    description: The name of this plugin; makes the file an inventory of pve.config.guests.
    type: str
    required: true
    choices:
      - pve.config.guests
  filters:
    description:
      - Only the guests that match every given filter become hosts. Each filter is a list; a guest matches a
        filter when one of its values is in the list.
      - "Keys: C(tags) (the guest has one of these tags), C(pools), C(nodes), C(types) (V(qemu), V(lxc)) and
        C(status) (V(running), V(stopped), ...). Any other key is an error."
    type: dict
    default: {}
  include_templates:
    description: Make templates hosts too. Templates are left out by default.
    type: bool
    default: false
  want_config:
    description:
      - Add each guest's configuration as C(pve_config), from C(GET /nodes/{node}/{type}/{vmid}/config), one
        request per guest, sent concurrently (see O(config_workers)) over one HTTP session.
      - Only for the guests that pass O(filters).
    type: bool
    default: false
  config_workers:
    description:
      - How many configuration requests of O(want_config) are in flight at once, from V(1) to V(10) (the size of
        the HTTP session's connection pool).
    type: int
    default: 8
notes:
  - With O(cache), the cached answer holds the guest list and, with O(want_config), the configurations; it never
    holds credentials.
seealso:
  - name: docs/inventory.md
    description: The inventory file, its options and groups, with examples.
    link: https://github.com/pve-config/pve.config/blob/main/docs/inventory.md
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
# cluster.pve.yml: every guest but templates, connection from PROXMOX_* environment variables
plugin: pve.config.guests

# prod.pve.yml: running web guests of two nodes, with their config; ansible_host from the guest name
plugin: pve.config.guests
api_host: pve1.example.com
api_user: automation@pve
api_token_id: ansible
ca_path: /etc/ansible/pve-root-ca.pem
filters:
  tags: [web]
  nodes: [pve1, pve2]
  status: [running]
want_config: true
compose:
  ansible_host: pve_name ~ '.example.com'
keyed_groups:
  - key: pve_tags
    prefix: tag
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ansible.errors import AnsibleParserError
from ansible.inventory.group import to_safe_group_name
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.pve.config.plugins.module_utils.client import AUTH_ARGSPEC, connect
from ansible_collections.pve.config.plugins.module_utils.cluster_guests import (
    checked_filters,
    cluster_guests,
    matches,
)
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest, PveError

FILE_ENDINGS = (".pve.yml", ".pve.yaml")
FILTER_KEYS = ("tags", "pools", "nodes", "types", "status")
MAX_CONFIG_WORKERS = 10  # requests' HTTPAdapter keeps 10 connections per host (pool_maxsize)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "pve.config.guests"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(FILE_ENDINGS)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        unknown = sorted(set(config) - set(self._options))
        if unknown:
            raise AnsibleParserError(
                "unknown option(s) %s in %s (ansible-doc -t inventory pve.config.guests lists them)"
                % (", ".join(map(str, unknown)), path)
            )
        try:
            filters = checked_filters(self.get_option("filters") or {}, FILTER_KEYS)
        except InvalidRequest as exc:
            raise AnsibleParserError(exc.msg) from None
        workers = self.get_option("config_workers")
        if not 1 <= workers <= MAX_CONFIG_WORKERS:
            raise AnsibleParserError("config_workers must be from 1 to %d, not %d" % (MAX_CONFIG_WORKERS, workers))

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        guests = None
        if use_cache:
            guests = self._cache.get(cache_key)
        if guests is None:
            guests = self._fetch(filters, workers)
            if self.get_option("cache"):
                self._cache[cache_key] = guests
        self._populate(guests)

    def _fetch(self, filters, workers):
        """The guests that pass the filters, as host variables (with ``pve_config`` when asked)."""
        try:
            api = connect({name: self.get_option(name) for name in AUTH_ARGSPEC})
            rows = api.get("/cluster/resources", type="vm")
            guests = [
                guest_vars(facts)
                for facts in cluster_guests(rows, self.get_option("include_templates"))
                if matches(facts, filters)
            ]
            if self.get_option("want_config"):
                add_configs(api, guests, workers)
        except PveError as exc:
            raise AnsibleParserError("pve.config.guests: %s" % exc.msg) from None
        return guests

    def _populate(self, guests):
        strict = self.get_option("strict")
        for host, hostvars in zip(host_names(guests), guests, strict=True):
            self.inventory.add_host(host)
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, value)
            for group in guest_groups(hostvars):
                group = self.inventory.add_group(to_safe_group_name(group, force=True, silent=True))
                self.inventory.add_child(group, host)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)


def guest_vars(facts):
    """The host variables of a guest: its ``cluster_guests.guest_facts`` with the ``pve_`` prefix."""
    return {"pve_%s" % key: value for key, value in facts.items()}


def add_configs(api, guests, workers):
    """``pve_config`` of each guest, fetched ``workers`` at a time over the one session of ``api``."""

    def config(guest):
        return api.get("/nodes/%s/%s/%d/config" % (guest["pve_node"], guest["pve_type"], guest["pve_vmid"]))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for guest, guest_config in zip(guests, pool.map(config, guests), strict=True):
            guest["pve_config"] = guest_config


def host_names(guests):
    """Guest names (the vmid when there is none), with ``_<vmid>`` appended to every name two guests share."""
    names = [guest["pve_name"] or str(guest["pve_vmid"]) for guest in guests]
    shared = {name for name, count in Counter(names).items() if count > 1}
    return [
        "%s_%d" % (name, guest["pve_vmid"]) if name in shared else name
        for name, guest in zip(names, guests, strict=True)
    ]


def guest_groups(guest):
    groups = [
        "pve_node_%s" % guest["pve_node"],
        "pve_type_%s" % guest["pve_type"],
        "pve_status_%s" % guest["pve_status"],
    ]
    groups += ["pve_tag_%s" % tag for tag in guest["pve_tags"]]
    if guest["pve_pool"]:
        groups.append("pve_pool_%s" % guest["pve_pool"])
    return groups

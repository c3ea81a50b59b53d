"""storage.check_storage: one GET /nodes/{node}/storage?storage=X decides whether a new volume can go there."""

import pytest
from harness import pve_error, requests_made, url
from responses import matchers

from ansible_collections.pve.config.plugins.module_utils.errors import ApiError, InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.storage import (
    check_storage,
    round_up,
    volume_size,
)

MIB = 1024**2

LVM = {
    "storage": "local-lvm",
    "type": "lvmthin",
    "content": "images,rootdir",
    "enabled": 1,
    "active": 1,
    "avail": 10 * 1024**3,
    "total": 100 * 1024**3,
    "shared": 0,
}


def answer(api, items, storage="local-lvm"):
    api.get(url("nodes/pve1/storage"), json={"data": items}, match=[matchers.query_param_matcher({"storage": storage})])


@pytest.mark.parametrize(
    "item, content",
    [
        (LVM, "images"),
        (LVM, "rootdir"),
        (dict(LVM, content="rootdir, images"), "images"),  # spaces around the types
        ({k: v for k, v in LVM.items() if k not in ("enabled", "active")}, "images"),  # absent flags mean yes
        (dict(LVM, enabled="1", active="1"), "images"),
    ],
)
def test_usable_storage(api, pve, item, content):
    answer(api, [item])
    assert check_storage(pve, "pve1", "local-lvm", content=content) == item
    assert requests_made(api) == [("GET", "/nodes/pve1/storage", {"storage": "local-lvm"})]


@pytest.mark.parametrize(
    "items, content, words",
    [
        ([], "images", "storage 'local-lvm' does not exist on node pve1"),
        ([dict(LVM, storage="other")], "images", "storage 'local-lvm' does not exist on node pve1"),
        ([dict(LVM, enabled=0)], "images", "storage 'local-lvm' is disabled on node pve1"),
        ([dict(LVM, enabled="0")], "images", "is disabled"),
        (
            [dict(LVM, content="iso,vztmpl,backup")],
            "images",
            "storage 'local-lvm' cannot hold images (its content types: iso, vztmpl, backup)",
        ),
        ([dict(LVM, content="images")], "rootdir", "cannot hold rootdir (its content types: images)"),
        ([dict(LVM, content="")], "images", "cannot hold images (its content types: none)"),
        ([dict(LVM, active=0)], "images", "storage 'local-lvm' is not active on node pve1"),
    ],
)
def test_unusable_storage(api, pve, items, content, words):
    answer(api, items)
    with pytest.raises(InvalidRequest) as exc:
        check_storage(pve, "pve1", "local-lvm", content=content)
    assert words in exc.value.msg and "nothing was changed" not in exc.value.msg  # the outcome is outcome.tell's


def test_storage_that_the_api_says_does_not_exist(api, pve):
    pve_error(api, "GET", "nodes/pve1/storage", "storage 'nope' does not exist")
    with pytest.raises(InvalidRequest, match="^storage 'nope' does not exist on node pve1$"):
        check_storage(pve, "pve1", "nope")


def test_other_api_errors_are_not_hidden(api, pve):
    pve_error(
        api, "GET", "nodes/pve1/storage", "Permission check failed (/storage/local-lvm, Datastore.Audit)", status=403
    )
    with pytest.raises(ApiError, match="403 Permission check failed"):
        check_storage(pve, "pve1", "local-lvm")


@pytest.mark.parametrize(
    "size,unit,expected", [(1, MIB, MIB), (MIB, MIB, MIB), (MIB + 1, MIB, 2 * MIB), (10 * MIB, 4 * MIB, 12 * MIB)]
)
def test_round_up(size, unit, expected):
    assert round_up(size, unit) == expected


CONTENT = "nodes/pve1/storage/local-lvm/content"
CONTENT_QUERY = [matchers.query_param_matcher({"content": "images", "vmid": "100"})]


@pytest.mark.parametrize(
    "items,expected",
    [
        ([{"volid": "local-lvm:vm-100-disk-1", "size": 12 * MIB}], 12 * MIB),
        ([{"volid": "local-lvm:vm-100-disk-0", "size": 8 * MIB}], None),
        ([{"volid": "local-lvm:vm-100-disk-1", "approximate-size": 12 * MIB}], None),
    ],
)
def test_volume_size(api, pve, items, expected):
    api.get(url(CONTENT), json={"data": items}, match=CONTENT_QUERY)
    assert volume_size(pve, "pve1", "local-lvm:vm-100-disk-1", 100) == expected
    assert requests_made(api) == [("GET", "/" + CONTENT, {"content": "images", "vmid": "100"})]


def test_volume_size_that_may_not_be_listed_is_unknown(api, pve):
    pve_error(api, "GET", CONTENT, "Permission check failed (/storage/local-lvm, Datastore.Audit)", status=403)
    assert volume_size(pve, "pve1", "local-lvm:vm-100-disk-1", 100) is None

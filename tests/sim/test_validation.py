"""400 Parameter verification failed (pve-common JSONSchema messages), 500 and 501 shapes."""

import pytest
import requests
from proxmoxer.core import ResourceException

NOT_DEFINED = "property is not defined in schema and the schema does not allow additional properties"


def put_error(api_obj, **params):
    with pytest.raises(ResourceException) as exc:
        api_obj.config.put(**params)
    return exc.value


def test_unknown_parameter(sim_api):
    err = put_error(sim_api.nodes("pve1").qemu(100), foo="1")
    assert (err.status_code, err.content, err.errors) == (400, "Parameter verification failed.", {"foo": NOT_DEFINED})


def test_400_body_and_reason_on_the_wire(sim):
    resp = requests.put(
        sim.api_url + "/nodes/pve1/qemu/100/config",
        data={"cores": "0"},
        headers={"Authorization": f"PVEAPIToken=root@pam!pve-config={sim.token_secret}"},
        verify=sim.ca_path,
        timeout=10,
    )
    assert (resp.status_code, resp.reason) == (400, "Parameter verification failed.")
    assert resp.json() == {
        "data": None,
        "errors": {"cores": "value must have a minimum value of 1"},
        "message": "Parameter verification failed.\n",
    }


def test_integer_ranges_and_types(sim_api):
    ct = sim_api.nodes("pve1").lxc(200)
    assert put_error(ct, memory=8).errors == {"memory": "value must have a minimum value of 16"}
    assert put_error(ct, cores=9000).errors == {"cores": "value must have a maximum value of 8192"}
    assert put_error(ct, swap="lots").errors == {"swap": "type check ('integer') failed - got 'lots'"}
    assert put_error(ct, onboot="true").errors == {"onboot": "type check ('boolean') failed - got 'true'"}


def test_qemu_memory_is_a_property_string(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    assert put_error(vm, memory="8").errors == {
        "memory": "invalid format - format error\nmemory.current: value must have a minimum value of 16\n"
    }
    vm.config.put(memory="current=3072")
    assert vm.config.get()["memory"] == "current=3072"


def test_property_string_unknown_sub_key(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    assert put_error(vm, net0="virtio,bridge=vmbr0,colour=red").errors == {
        "net0": "invalid format - invalid key in comma-separated list property: colour\n"
    }
    assert put_error(vm, scsi1="local-lvm:4,speed=fast").errors == {
        "scsi1": "invalid format - invalid key in comma-separated list property: speed\n"
    }


def test_property_string_sub_key_values(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    assert put_error(vm, net1="virtio,bridge=vmbr0,tag=5000").errors == {
        "net1": "invalid format - format error\nnet1.tag: value must have a maximum value of 4094\n"
    }
    assert put_error(vm, net1="rtl9999,bridge=vmbr0").errors == {
        "net1": "invalid format - format error\nnet1.model: value 'rtl9999' does not have a value in the "
        "enumeration 'e1000, e1000-82540em, e1000-82544gc, e1000-82545em, e1000e, i82551, i82557b, "
        "i82559er, ne2k_isa, ne2k_pci, pcnet, rtl8139, virtio, vmxnet3'\n"
    }
    assert put_error(vm, scsi1="local-lvm:4,cache=fast").errors == {
        "scsi1": "invalid format - format error\nscsi1.cache: value 'fast' does not have a value in the "
        "enumeration 'none, writethrough, writeback, unsafe, directsync'\n"
    }
    assert put_error(vm, net1="virtio=01:00:00:00:00:01,bridge=vmbr0").errors == {
        "net1": "invalid format - format error\nnet1.macaddr: invalid format - value does not look like a valid "
        "unicast MAC address\n\n"
    }


def test_lxc_net_and_mountpoint_sub_keys(sim_api):
    ct = sim_api.nodes("pve1").lxc(200)
    assert put_error(ct, net1="bridge=vmbr0").errors == {
        "net1": "invalid format - format error\nnet1.name: property is missing and it is not optional\n"
    }
    assert put_error(ct, net1="name=eth1,bridge=vmbr0,ip=dhcpp").errors == {
        "net1": "invalid format - format error\nnet1.ip: invalid format - value does not look like a valid ipv4 "
        "network configuration\n\n"
    }
    assert put_error(ct, mp0="local-lvm:4,mp=/data,size=big").errors == {
        "mp0": "invalid format - format error\nmp0.size: invalid format - value does not look like a valid disk "
        "size: big\n\n"
    }
    assert put_error(ct, rootfs="local-lvm:8,foo=1").errors == {
        "rootfs": "invalid format - invalid key in comma-separated list property: foo\n"
    }


def test_index_beyond_the_limit_is_unknown(sim_api):
    assert put_error(sim_api.nodes("pve1").qemu(100), scsi31="local-lvm:1").errors == {"scsi31": NOT_DEFINED}
    assert put_error(sim_api.nodes("pve1").qemu(100), net32="virtio,bridge=vmbr0").errors == {"net32": NOT_DEFINED}


def test_delete_of_unknown_option_and_force_without_delete(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    assert put_error(vm, delete="colour").errors == {"delete": "unknown option 'colour'"}
    assert put_error(vm, force=1).errors == {"delete": "missing property required by 'force'"}
    assert put_error(vm, delete="cores", cores=2).errors == {
        "delete": "you can't use '-cores' and -delete cores' at the same time"
    }


def test_no_options_specified(sim_api):
    err = put_error(sim_api.nodes("pve1").qemu(101))
    assert (err.status_code, err.content) == (500, "no options specified")


def test_skiplock_is_root_only_and_a_token_is_not_root(sim_api):
    assert put_error(sim_api.nodes("pve1").qemu(101), skiplock=1, cores=2).errors == {
        "skiplock": "Only root may use this option."
    }


def test_boot_order_must_name_existing_devices(sim_api):
    err = put_error(sim_api.nodes("pve1").qemu(101), boot="order=scsi0;scsi7")
    assert err.content == "invalid bootorder: device 'scsi7' does not exist'"


def test_unknown_path_is_501(sim, sim_api):
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").qemu(100).frobnicate.get()
    assert (exc.value.status_code, exc.value.content) == (
        501,
        "Method 'GET /nodes/pve1/qemu/100/frobnicate' not implemented",
    )
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").qemu(100).config.delete()
    assert exc.value.content == "Method 'DELETE /nodes/pve1/qemu/100/config' not implemented"


def test_unknown_node_fails_the_hostname_lookup(sim_api):
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve9").qemu.get()
    assert (exc.value.status_code, exc.value.content) == (
        500,
        "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known",
    )


def test_500_body_carries_the_message(sim):
    resp = requests.get(
        sim.api_url + "/nodes/pve1/qemu/999/config",
        headers={"Authorization": f"PVEAPIToken=root@pam!pve-config={sim.token_secret}"},
        verify=sim.ca_path,
        timeout=10,
    )
    assert (resp.status_code, resp.reason) == (
        500,
        "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist",
    )
    assert resp.json() == {
        "data": None,
        "message": "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n",
    }


def test_json_body_is_accepted(sim):
    resp = requests.put(
        sim.api_url + "/nodes/pve1/qemu/101/config",
        json={"cores": 6, "numa": True},
        headers={"Authorization": f"PVEAPIToken=root@pam!pve-config={sim.token_secret}"},
        verify=sim.ca_path,
        timeout=10,
    )
    assert resp.status_code == 200
    conf = sim.simulator.guest_config(101)["config"]
    assert (conf["cores"], conf["numa"]) == ("6", "1")

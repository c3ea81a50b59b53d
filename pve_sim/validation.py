# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Parameter verification with the messages of ``PVE::JSONSchema`` (pve-common).

Only what the simulator's endpoints need: ``check_prop`` / ``check_object`` for the flat
parameter object of an API call, property strings (``parse_property_string``), and the
named formats used by the served parameters.  Order of checks and message texts follow
pve-common's ``check_prop``: type, format, pattern, maxLength, minLength, maximum,
minimum, enum - each stops at its first failure.
"""

import ipaddress
import re

from .errors import FormatDie, ParamError

_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$")

ADDITIONAL_PROPERTY_MSG = "property is not defined in schema and the schema does not allow additional properties"
MISSING_MSG = "property is missing and it is not optional"


# ---------------------------------------------------------------------------------------------
# helpers shared with the handlers


def is_number(value):
    return bool(_NUM_RE.match(value))


def is_integer(value):
    return bool(_INT_RE.match(value))


def parse_boolean(value):
    """``PVE::JSONSchema::parse_boolean``: 1/on/yes/true -> '1', 0/off/no/false -> '0', else None."""
    v = str(value).lower()
    if v in ("1", "on", "yes", "true"):
        return "1"
    if v in ("0", "off", "no", "false"):
        return "0"
    return None


def split_list(text):
    """``PVE::Tools::split_list``: split on ``,``, ``;`` or whitespace (or NUL)."""
    text = text or ""
    if "\0" in text:
        return text.split("\0")
    text = re.sub(r"[,;]", " ", text).strip()
    return text.split() if text else []


def parse_size(value):
    """``PVE::JSONSchema::parse_size``: bytes, or None."""
    m = re.match(r"^(\d+(\.\d+)?)([KMGT](?:iB)?)?$", str(value))
    if not m:
        return None
    size = float(m.group(1))
    unit = (m.group(3) or "")[:1]
    size *= {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[unit]
    return int(size)


def format_size(size):
    """``PVE::JSONSchema::format_size``: the largest exact unit (``32G``, ``512M``, ``1T``)."""
    size = int(size)
    kb = size // 1024
    if kb * 1024 != size:
        return str(size)
    mb = kb // 1024
    if mb * 1024 != kb:
        return "%dK" % kb
    gb = mb // 1024
    if gb * 1024 != mb:
        return "%dM" % mb
    tb = gb // 1024
    if tb * 1024 != gb:
        return "%dG" % gb
    return "%dT" % tb


def perl_regex(pattern):
    """Turn a pattern as dumped by Perl (``(?^:...)``) into a Python regex."""
    return pattern.replace("(?^:", "(?:").replace("(?^i:", "(?i:")


def _fmt_num(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _perl_str(value):
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Errors(dict):
    """Error hash of ``PVE::JSONSchema::add_error`` (joined with a literal backslash-n)."""

    def add(self, path, msg):
        path = path or "_root"
        if path in self:
            self[path] = self[path] + "\\n" + msg
        else:
            self[path] = msg


# ---------------------------------------------------------------------------------------------
# named formats (pve-common JSONSchema.pm, qemu-server, pve-container, pve-storage)

_CONFIGID_RE = re.compile(r"^[a-z][a-z0-9_-]+$", re.I)
_NODE_RE = re.compile(r"^(?i:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)$")
_DNS_PART = r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)"
_DNS_RE = re.compile(r"^(%s\.)*%s$" % (_DNS_PART, _DNS_PART))
_VOLID_RE = re.compile(r"^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$", re.I | re.S)
_TAG_RE = re.compile(r"^[a-z0-9_][a-z0-9_\-+.]*$", re.I)
STORAGE_CONTENT_TYPES = ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import", "none")


def _v_configid(value):
    if not _CONFIGID_RE.match(value):
        raise FormatDie("invalid configuration ID '%s'" % value)


def _v_node(value):
    if not _NODE_RE.match(value):
        raise FormatDie("value does not look like a valid node name")


def _v_vmid(value):
    if not re.match(r"^[1-9][0-9]{2,8}$", value):
        raise FormatDie("value does not look like a valid VM ID")


def _parse_id(value, kind):
    if len(value) < 2:
        raise FormatDie("%s ID '%s' cannot be shorter than 2 characters" % (kind, value))
    if not re.match(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$", value, re.I):
        raise FormatDie("%s ID '%s' contains illegal characters" % (kind, value))


def _v_storage_id(value):
    _parse_id(value, "storage")


def _v_bridge_id(value):
    if not re.match(r"^[-_.\w\d]+$", value):
        raise FormatDie("invalid bridge ID '%s'" % value)


def _v_mac(value):
    if not re.match(r"^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$", value, re.I):
        raise FormatDie("value does not look like a valid unicast MAC address")


def _v_disk_size(value):
    if parse_size(value) is None:
        raise FormatDie("value does not look like a valid disk size: %s" % value)


def _v_dns_name(value):
    if not _DNS_RE.match(value):
        raise FormatDie("value does not look like a valid DNS name")


def _v_ipv4(value):
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise FormatDie("value does not look like a valid IPv4 address") from None


def _v_ipv6(value):
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        raise FormatDie("value does not look like a valid IPv6 address") from None


def _cidr(value, version):
    m = re.match(r"^(\S+)/(\d+)$", value)
    if not m:
        return False
    try:
        ip = ipaddress.ip_address(m.group(1))
    except ValueError:
        return False
    bits = int(m.group(2))
    return ip.version == version and 0 < bits <= (32 if version == 4 else 128)


def _v_ipv4_config(value):
    if value in ("dhcp", "manual") or _cidr(value, 4):
        return
    raise FormatDie("value does not look like a valid ipv4 network configuration")


def _v_ipv6_config(value):
    if value in ("auto", "dhcp", "manual") or _cidr(value, 6):
        return
    raise FormatDie("value does not look like a valid ipv6 network configuration")


def parse_volume_id(volid):
    """``PVE::Storage::parse_volume_id``: (storage, volname) or raise."""
    m = _VOLID_RE.match(volid)
    if not m:
        raise FormatDie("unable to parse volume ID '%s'" % volid)
    return m.group(1), m.group(2)


def _v_volume_id(value):
    parse_volume_id(value)


def _v_volume_id_or_abs(value):
    if value.startswith("/"):
        return
    parse_volume_id(value)


def _v_volume_id_or_qm_path(value):
    if value in ("none", "cdrom"):
        return
    _v_volume_id_or_abs(value)


def _v_hotplug(value):
    if value == "0" or value == "1":
        return
    for feature in split_list(value):
        if feature not in ("network", "disk", "cpu", "memory", "usb", "cloudinit"):
            raise FormatDie("unable to parse hotplug option")


def _v_tag(value):
    if not _TAG_RE.match(value):
        raise FormatDie("invalid characters in tag")


def _v_tag_list(value):
    for tag in re.split(r"[;, ]+", value):
        if tag:
            _v_tag(tag)


def _v_startup(value):
    for part in value.split(","):
        if re.match(r"^\s*$", part):
            continue
        if not re.match(r"^(order=)?\d+$|^up=\d+$|^down=\d+$", part):
            raise FormatDie("unable to parse startup options")


def _v_storage_content(value):
    if value not in STORAGE_CONTENT_TYPES:
        raise FormatDie("invalid content type '%s'" % value)


def _v_task_status(value):
    if not re.match(r"^(ok|error|warning|unknown)$", value, re.I):
        raise FormatDie("invalid status '%s'" % value)


def _v_bootdev(value):
    if re.match(r"^(ide|sata|scsi|virtio)\d+$", value) or re.match(r"^(net|hostpci|usb)\d+$", value):
        return
    raise FormatDie("invalid boot device '%s'" % value)


def _v_lxc_mp_string(value):
    if re.search(r"(^|/)\.\.($|/)", value):
        raise FormatDie("invalid path with '..' in '%s'" % value)


# Hash-based named formats whose sub-keys the dump does not expand (qemu-server).
BOOT_FORMAT = {
    "legacy": {"optional": 1, "default_key": 1, "type": "string", "pattern": "[acdn]{1,4}"},
    "order": {"optional": 1, "type": "string", "format": "pve-qm-bootdev-list"},
}

# x86_64 models QEMU 9.x knows plus Proxmox's built-in x86-64-v* models (CPUConfig.pm)
CPU_MODELS = {
    "486",
    "athlon",
    "Broadwell",
    "Broadwell-IBRS",
    "Broadwell-noTSX",
    "Broadwell-noTSX-IBRS",
    "Cascadelake-Server",
    "Cascadelake-Server-noTSX",
    "ClearwaterForest",
    "Conroe",
    "Cooperlake",
    "core2duo",
    "coreduo",
    "EPYC",
    "EPYC-Genoa",
    "EPYC-IBPB",
    "EPYC-Milan",
    "EPYC-Rome",
    "EPYC-Turin",
    "GraniteRapids",
    "Haswell",
    "Haswell-IBRS",
    "Haswell-noTSX",
    "Haswell-noTSX-IBRS",
    "host",
    "Icelake-Client",
    "Icelake-Client-noTSX",
    "Icelake-Server",
    "Icelake-Server-noTSX",
    "IvyBridge",
    "IvyBridge-IBRS",
    "KnightsMill",
    "kvm32",
    "kvm64",
    "max",
    "Nehalem",
    "Nehalem-IBRS",
    "Opteron_G1",
    "Opteron_G2",
    "Opteron_G3",
    "Opteron_G4",
    "Opteron_G5",
    "Penryn",
    "pentium",
    "pentium2",
    "pentium3",
    "phenom",
    "qemu32",
    "qemu64",
    "SandyBridge",
    "SandyBridge-IBRS",
    "SapphireRapids",
    "SierraForest",
    "Skylake-Client",
    "Skylake-Client-IBRS",
    "Skylake-Client-noTSX-IBRS",
    "Skylake-Server",
    "Skylake-Server-IBRS",
    "Skylake-Server-noTSX-IBRS",
    "Westmere",
    "Westmere-IBRS",
    "x86-64-v2",
    "x86-64-v2-AES",
    "x86-64-v3",
    "x86-64-v4",
}
_CPU_FLAG_RE = r"[+-][a-zA-Z0-9\-_.]+"
CPU_FORMAT = {
    "cputype": {"type": "string", "default_key": 1, "optional": 1},
    "reported-model": {"type": "string", "optional": 1},
    "hidden": {"type": "boolean", "optional": 1},
    "hv-vendor-id": {"type": "string", "optional": 1, "pattern": "[a-zA-Z0-9]{1,12}"},
    "flags": {"type": "string", "optional": 1, "pattern": "%s(;%s)*" % (_CPU_FLAG_RE, _CPU_FLAG_RE)},
    "guest-phys-bits": {"type": "integer", "optional": 1, "minimum": 32, "maximum": 64},
    "phys-bits": {"type": "string", "optional": 1, "format": "pve-phys-bits"},
    "level": {"type": "integer", "optional": 1, "minimum": 0},
}


def _validate_vm_cpu(res):
    cputype = res.get("cputype")
    if not cputype:
        raise FormatDie("CPU is missing cputype")
    if cputype.startswith("custom-"):
        raise FormatDie("CPU model '%s' does not exist" % cputype[len("custom-") :])
    if cputype not in CPU_MODELS:
        raise FormatDie("Built-in cputype '%s' is not defined (missing 'custom-' prefix?)" % cputype)
    if "reported-model" in res:
        raise FormatDie("Property 'reported-model' not allowed in VM-specific CPU config.")


def _v_phys_bits(value):
    if value == "host":
        return
    if not re.match(r"^\d+$", value) or not 8 <= int(value) <= 64:
        raise FormatDie("value must be an integer between 8 and 64 or 'host'")


def _v_poolid(value):
    # pve-access-control src/PVE/AccessControl.pm verify_poolname (format 'pve-poolid')
    if len(value.split("/")) > 3:
        raise FormatDie("pool name '%s' nested too deeply (max levels = 3)" % value)
    if not re.match(r"^[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}$", value):
        raise FormatDie("pool name '%s' contains invalid characters" % value)


NAMED_FORMATS = {
    "pve-configid": _v_configid,
    "pve-poolid": _v_poolid,
    "pve-node": _v_node,
    "pve-vmid": _v_vmid,
    "pve-storage-id": _v_storage_id,
    "pve-bridge-id": _v_bridge_id,
    "mac-addr": _v_mac,
    "disk-size": _v_disk_size,
    "dns-name": _v_dns_name,
    "ipv4": _v_ipv4,
    "ipv6": _v_ipv6,
    "pve-ipv4-config": _v_ipv4_config,
    "pve-ipv6-config": _v_ipv6_config,
    "pve-volume-id": _v_volume_id,
    "pve-volume-id-or-absolute-path": _v_volume_id_or_abs,
    "pve-volume-id-or-qm-path": _v_volume_id_or_qm_path,
    "pve-hotplug-features": _v_hotplug,
    "pve-tag": _v_tag,
    "pve-tag-list": _v_tag_list,
    "pve-startup-order": _v_startup,
    "pve-storage-content": _v_storage_content,
    "pve-task-status-type": _v_task_status,
    "pve-qm-bootdev": _v_bootdev,
    "pve-lxc-mp-string": _v_lxc_mp_string,
    "pve-phys-bits": _v_phys_bits,
}

# named formats that are property strings: (sub-key schema, validator)
NAMED_HASH_FORMATS = {
    "pve-qm-boot": (BOOT_FORMAT, None),
    "pve-vm-cpu-conf": (CPU_FORMAT, _validate_vm_cpu),
}


def check_format(fmt, value, path):
    """``PVE::JSONSchema::check_format``; raises FormatDie, returns the parsed value."""
    if isinstance(fmt, dict):
        return parse_property_string(fmt, value, path)
    if fmt == "regex":
        return value
    m = re.match(r"^(.*?)(?:-(list|opt))?$", fmt)
    name, kind = m.group(1), m.group(2) or "none"
    if name in NAMED_HASH_FORMATS and kind == "none":
        sub, validator = NAMED_HASH_FORMATS[name]
        res = parse_property_string(sub, value, path)
        if validator:
            validator(res)
        return res
    validator = NAMED_FORMATS.get(name)
    if validator is None:
        return value  # a format the simulator does not model: accepted as is
    if kind == "list":
        for item in split_list(value):
            validator(item)
    elif kind == "opt":
        if value:
            validator(value)
    else:
        validator(value)
    return value


# ---------------------------------------------------------------------------------------------
# property strings


def find_default_key(fmt):
    for key, sub in fmt.items():
        if sub.get("default_key"):
            return key
    return None


def parse_property_string(fmt, data, path=None, additional_properties=0):
    """``PVE::JSONSchema::parse_property_string``: dict of raw strings, or raise FormatDie."""
    if isinstance(fmt, str):
        fmt = NAMED_HASH_FORMATS[fmt][0]
    res = {}
    default_key = None
    for part in data.split(","):
        if re.match(r"^\s*$", part):
            continue
        m = re.match(r"^([^=]+)=(.+)$", part, re.S)
        if m:
            k, v = m.group(1), m.group(2)
            if k in res:
                raise FormatDie("duplicate key in comma-separated list property: %s" % k)
            schema = fmt.get(k)
            if schema and schema.get("alias"):
                key_alias = schema.get("keyAlias")
                if key_alias:
                    if key_alias in res:
                        raise FormatDie("key alias '%s' is already defined" % key_alias)
                    res[key_alias] = k
                k = schema["alias"]
                schema = fmt.get(k)
                if k in res:
                    raise FormatDie("key '%s' is already defined (via alias)" % k)
            if not schema:
                raise FormatDie("invalid key in comma-separated list property: %s" % k)
            if schema.get("type") == "boolean":
                b = parse_boolean(v)
                v = b if b is not None else v
            res[k] = v
        elif "=" not in part:
            if default_key:
                raise FormatDie("duplicate key in comma-separated list property: %s" % default_key)
            default_key = find_default_key(fmt)
            if not default_key:
                raise FormatDie("value without key, but schema does not define a default key")
            if res.get(default_key) not in (None, "", "0"):
                raise FormatDie("duplicate key in comma-separated list property: %s" % default_key)
            if fmt[default_key].get("type") == "boolean":
                b = parse_boolean(part)
                part = b if b is not None else part
            res[default_key] = part
        else:
            raise FormatDie("missing key in comma-separated list property")
    errors = Errors()
    check_object(path, fmt, res, additional_properties, errors)
    if errors:
        raise FormatDie("format error", errors=dict(errors))
    return res


def print_property_string(data, fmt, skip=(), disk_size_keys=None):
    """``PVE::JSONSchema::print_property_string``: default key first (combined with its
    keyAlias partner, e.g. ``virtio=BC:24:11:..``), then required keys, then the rest, both
    sorted.  Values of ``disk-size`` sub-keys given as integers are printed with ``format_size``."""
    default_key = find_default_key(fmt)
    key_alias_props = {}
    for sub in fmt.values():
        if sub.get("alias") and sub.get("keyAlias"):
            key_alias_props[sub["keyAlias"]] = sub["alias"]
    done = set(skip)
    out = []

    def fmt_value(key, value):
        sub = fmt.get(key) or {}
        if sub.get("format") == "disk-size" and isinstance(value, int):
            return format_size(value)
        return _perl_str(value)

    def add(key, is_default=False):
        if key in done:
            return
        done.add(key)
        value = data.get(key)
        if value is None:
            return
        combine = key_alias_props.get(key)
        if combine and data.get(combine) is not None:
            out.append("%s=%s" % (fmt_value(key, value), fmt_value(combine, data[combine])))
            done.add(combine)
            return
        out.append(fmt_value(key, value) if is_default else "%s=%s" % (key, fmt_value(key, value)))

    if default_key:
        add(default_key, True)
    for key in sorted(data):
        sub = fmt.get(key)
        if sub and not sub.get("optional"):
            add(key)
    for key in sorted(data):
        add(key)
    return ",".join(out)


# ---------------------------------------------------------------------------------------------
# check_prop / check_object


def check_type(path, type_, value, errors):
    if not type_:
        return True
    if isinstance(type_, list):
        for t in type_:
            if check_type(path, t, value, Errors()):
                return True
        errors.add(path, "type check ('%s') failed" % "|".join(type_))
        return False
    if type_ == "any":
        return True
    if type_ == "null":
        if value is not None:
            errors.add(path, "type check ('null') failed - value is not null")
            return False
        return True
    if type_ in ("array", "object"):
        expected = list if type_ == "array" else dict
        if not isinstance(value, expected):
            errors.add(path, "type check ('%s') failed" % type_)
            return False
        return True
    if isinstance(value, (list, dict)):
        errors.add(path, "type check ('%s') failed - got %s" % (type_, "ARRAY" if isinstance(value, list) else "HASH"))
        return False
    if type_ == "boolean" and isinstance(value, bool):
        return True
    sval = _perl_str(value)
    if type_ == "boolean":
        if sval not in ("0", "1"):
            errors.add(path, "type check ('boolean') failed - got '%s'" % sval)
            return False
    elif type_ == "integer":
        if not is_integer(sval):
            errors.add(path, "type check ('integer') failed - got '%s'" % sval)
            return False
    elif type_ == "number":
        if not is_number(sval):
            errors.add(path, "type check ('number') failed - got '%s'" % sval)
            return False
    return True


def check_prop(value, schema, path, errors):
    if schema.get("alias"):
        return
    if value is None:
        if schema.get("type") == "null":
            return
        if not schema.get("optional"):
            errors.add(path, MISSING_MSG)
        return
    if not check_type(path, schema.get("type"), value, errors):
        return
    if isinstance(value, (list, dict)):
        return
    sval = _perl_str(value)
    fmt = schema.get("format")
    if fmt:
        try:
            check_format(fmt, sval, path)
        except FormatDie as exc:
            errors.add(path, "invalid format - " + exc.perl_string())
            return
    pattern = schema.get("pattern")
    if pattern and not re.fullmatch(perl_regex(pattern), sval, re.S):
        errors.add(path, "value does not match the regex pattern")
        return
    if schema.get("maxLength") is not None and len(sval) > int(schema["maxLength"]):
        errors.add(path, "value may only be %s characters long" % schema["maxLength"])
        return
    if schema.get("minLength") is not None and len(sval) < int(schema["minLength"]):
        errors.add(path, "value must be at least %s characters long" % schema["minLength"])
        return
    if is_number(sval):
        num = float(sval)
        if schema.get("maximum") is not None and num > float(schema["maximum"]):
            errors.add(path, "value must have a maximum value of %s" % _fmt_num(schema["maximum"]))
            return
        if schema.get("minimum") is not None and num < float(schema["minimum"]):
            errors.add(path, "value must have a minimum value of %s" % _fmt_num(schema["minimum"]))
            return
    enum = schema.get("enum")
    if enum and sval not in [_perl_str(e) for e in enum]:
        errors.add(
            path,
            "value '%s' does not have a value in the enumeration '%s'" % (sval, ", ".join(_perl_str(e) for e in enum)),
        )


_REQUIRED_CACHE = {}


def _required_keys(schema):
    """Keys of a (static) schema that ``check_prop`` reports when missing."""
    key = id(schema)
    cached = _REQUIRED_CACHE.get(key)
    if cached is None or cached[0] is not schema:
        keys = frozenset(
            k
            for k, sub in schema.items()
            if not sub.get("optional") and not sub.get("alias") and sub.get("type") != "null"
        )
        cached = _REQUIRED_CACHE[key] = (schema, keys)
    return cached[1]


def check_object(path, schema, value, additional_properties, errors):
    for key in list(value):
        sub = schema.get(key)
        if not sub or not sub.get("alias"):
            continue
        alias = sub["alias"]
        if value.get(alias) is not None:
            errors.add(
                "%s.%s" % (path, key) if path else key, "cannot set both '%s' and its alias target '%s'" % (key, alias)
            )
        else:
            value[alias] = value.pop(key)
    # absent optional keys cannot fail check_prop: only present and required keys are checked
    for key in sorted(set(value) & set(schema) | _required_keys(schema)):
        check_prop(value.get(key), schema[key], "%s.%s" % (path, key) if path else key, errors)
    for key in sorted(value):
        newpath = "%s.%s" % (path, key) if path else key
        sub = schema.get(key)
        if sub:
            requires = sub.get("requires")
            if isinstance(requires, str) and value.get(requires) is None:
                errors.add(
                    "%s.%s" % (path, requires) if path else requires, "missing property required by '%s'" % newpath
                )
            continue
        if additional_properties is not None and not additional_properties:
            errors.add(newpath, ADDITIONAL_PROPERTY_MSG)


def validate_params(params, properties, additional_properties=0):
    """``PVE::JSONSchema::validate`` of an API call's parameters; raises ParamError (400)."""
    errors = Errors()
    check_object("", properties, params, additional_properties, errors)
    if errors:
        raise ParamError(dict(errors))

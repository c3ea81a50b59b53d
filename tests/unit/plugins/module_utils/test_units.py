"""units: sizes and memory amounts, as tables of (input, expected) and (input, error words)."""

from fractions import Fraction

import pytest

from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.units import (
    GIB,
    KIB,
    MIB,
    TIB,
    format_size,
    gib_for_allocation,
    parse_memory_mib,
    parse_size,
)


@pytest.mark.parametrize(
    "value, default_unit, size",
    [
        ("32G", "G", 32 * GIB),
        ("512M", "G", 512 * MIB),
        ("1T", "G", TIB),
        ("1024K", "G", MIB),
        ("1.5T", "G", 1536 * GIB),
        ("0.5G", "G", 512 * MIB),
        ("32GiB", "G", 32 * GIB),
        ("32gb", "G", 32 * GIB),
        ("32g", "G", 32 * GIB),
        (" 4 G ", "G", 4 * GIB),
        ("4096B", "G", 4096),  # B alone means bytes, not the default unit
        ("4096b", "G", 4096),
        ("10", "G", 10 * GIB),  # a bare number counts in the default unit
        ("10", "", 10),  # Proxmox's own size= values: bare numbers are bytes
        ("10", "M", 10 * MIB),
        (10, "G", 10 * GIB),
        (0.5, "G", 512 * MIB),
        (3, "", 3),
        ("1.5K", "G", 1536),
    ],
)
def test_parse_size(value, default_unit, size):
    assert parse_size(value, default_unit=default_unit) == size


@pytest.mark.parametrize(
    "value, words",
    [
        ("0", "size must be positive, got '0'"),
        (0, "size must be positive, got 0"),
        ("-1", "size must be a size such as 32G, 512M or a number of GiB, got '-1'"),
        ("", "got ''"),
        ("G", "got 'G'"),
        ("1e3", "got '1e3'"),
        ("32 GB extra", "got '32 GB extra'"),
        ("32P", "got '32P'"),
        ("iB", "got 'iB'"),
        ("0.3", "is not a whole number of bytes"),  # 0.3 GiB
        ("1.0000000001K", "is not a whole number of bytes"),
        (True, "size must be a size such as 32G or 512M, got True"),
        (None, "got None"),
        ("9" * 400 + "T", "is too large"),
        (10**400, "is too large"),
        (float("inf"), "is not a number"),
        (float("nan"), "is not a number"),
    ],
)
def test_parse_size_errors(value, words):
    with pytest.raises(InvalidRequest) as exc:
        parse_size(value)
    assert words in exc.value.msg


def test_parse_size_names_the_option():
    with pytest.raises(InvalidRequest, match="^disk size must be positive"):
        parse_size("0", what="disk size")


@pytest.mark.parametrize(
    "size, text",
    [
        (32 * GIB, "32G"),
        (TIB, "1T"),
        (5 * TIB, "5T"),
        (1536 * GIB, "1536G"),
        (512 * MIB, "512M"),
        (1536 * KIB, "1536K"),
        (KIB, "1K"),
        (1023, "1023"),
        (1, "1"),
        (0, "0"),
    ],
)
def test_format_size(size, text):
    assert format_size(size) == text
    if size:
        assert parse_size(text, default_unit="") == size, "format_size is the inverse of parse_size for size="


@pytest.mark.parametrize(
    "size, text",
    [
        (GIB, "1"),
        (32 * GIB, "32"),
        (512 * MIB, "0.5"),
        (256 * MIB, "0.25"),
        (TIB, "1024"),
        (1536 * MIB, "1.5"),
        (100 * MIB, "0.09765625"),
        (3 * MIB, "0.0029296875"),
        (KIB, "0.00000095367431640625"),
        (1000 * TIB + KIB, "1024000.00000095367431640625"),
    ],
)
def test_gib_for_allocation(size, text):
    assert gib_for_allocation(size) == text
    # what Proxmox does with it (PVE::Tools::convert_size gb -> kb) gives back exactly the size asked for
    assert int(Fraction(text) * 1024 * 1024) * KIB == size


@pytest.mark.parametrize("size", [1, 512, GIB + 1, 3 * MIB + 100])
def test_gib_for_allocation_refuses_sizes_not_in_whole_kib(size):
    with pytest.raises(InvalidRequest, match="cannot be written as GiB for a new disk: Proxmox allocates whole KiB"):
        gib_for_allocation(size)


@pytest.mark.parametrize(
    "value, mib",
    [
        (4096, 4096),
        ("4096", 4096),
        (" 2048 ", 2048),
        (2048.0, 2048),
        ("4G", 4096),
        ("4g", 4096),
        ("4 GiB", 4096),
        ("512M", 512),
        ("512", 512),
        ("1.5G", 1536),
        ("1024K", 1),
        ("1T", 1024 * 1024),
        (str(2 * MIB) + "B", 2),
    ],
)
def test_parse_memory_mib(value, mib):
    assert parse_memory_mib(value) == mib
    assert parse_memory_mib(value, allow_zero=True) == mib


@pytest.mark.parametrize(
    "value, allow_zero, words",
    [
        (0, False, "memory must be positive, got 0"),
        ("0", False, "memory must be positive, got '0'"),
        ("0M", False, "memory must be positive, got '0M'"),
        (-5, False, "memory must be positive, got -5"),
        ("-5", False, "memory must be positive, got '-5'"),
        (-5, True, "memory must be at least 0, got -5"),
        ("1.5M", False, "memory '1.5M' is not a whole number of MiB"),
        ("1025K", True, "memory '1025K' is not a whole number of MiB"),
        ("100B", False, "memory '100B' is not a whole number of MiB"),
        (1.5, False, "memory must be a positive whole number of MiB, got 1.5"),
        (1.5, True, "memory must be a whole number of MiB of at least 0, got 1.5"),
        (True, False, "memory must be a positive whole number of MiB, got True"),
        (None, False, "got None"),
        ("abc", False, "memory must be a positive whole number of MiB or a size such as 4G, got 'abc'"),
        ("abc", True, "memory must be a whole number of MiB of at least 0 or a size such as 4G, got 'abc'"),
        ("4X", False, "got '4X'"),
        ("", False, "got ''"),
        ("9" * 400 + "G", False, "is too large"),
        (10**400, False, "is too large"),
        (float("inf"), False, "memory must be a positive whole number of MiB, got inf"),
        (float("nan"), True, "got nan"),
    ],
)
def test_parse_memory_mib_errors(value, allow_zero, words):
    with pytest.raises(InvalidRequest) as exc:
        parse_memory_mib(value, allow_zero=allow_zero)
    assert words in exc.value.msg


@pytest.mark.parametrize("value", [0, "0", "0M", "0G", 0.0])
def test_parse_memory_mib_allows_zero_for_swap(value):
    assert parse_memory_mib(value, what="swap", allow_zero=True) == 0


def test_parse_memory_mib_names_the_option():
    with pytest.raises(InvalidRequest, match="^swap must be at least 0"):
        parse_memory_mib(-1, what="swap", allow_zero=True)

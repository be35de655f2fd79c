"""Dataset-id grammar: exact round trips and specific errors for bad ids."""

import pytest

from hades_zoo.data.ids import (
    DatasetId,
    InvalidDatasetIdError,
    env_slug,
    format_dataset_id,
    is_dataset_id,
    parse_dataset_id,
)
from hades_zoo.errors import HadesZooError, UnknownDatasetError
from hades_zoo.zoo.registry import list_datasets

HAND = [
    "hopper-R-64",
    "hopper-R-4.s2",
    "breakout-minatar-F-16.s1",
    "inverted_double_pendulum-F-64",
    "asterix-minatar-R-16.w256.g5000.s2",
    "spaceinvaders-minatar-F-16.greedy.s1",
    "pong-misc-F-3",
    "cartpole-v1-R-2",
    "a-b-c-d-R-1.w64.g10.greedy.s99",
    "acrobot-RR-3.hz",
    "cartpole-RR-2.hz.s1",
    "hopper-RR-64.w256",
]


@pytest.mark.parametrize("text", sorted(set(HAND) | set(list_datasets())))
def test_round_trip(text):
    parsed = parse_dataset_id(text)
    assert format_dataset_id(parsed) == text
    assert parse_dataset_id(format_dataset_id(parsed)) == parsed
    assert str(parsed) == text
    assert is_dataset_id(text)


def test_rr_variant():
    i = parse_dataset_id("acrobot-RR-3.hz")
    assert (i.env, i.variant, i.size, i.own) == ("acrobot", "RR", 3, True)
    assert str(DatasetId(env="acrobot", variant="RR", size=3, own=True)) == "acrobot-RR-3.hz"


def test_fields_are_read_from_the_right():
    i = parse_dataset_id("breakout-minatar-F-16.w256.g5000.greedy.s1")
    assert (i.env, i.variant, i.size) == ("breakout-minatar", "F", 16)
    assert (i.width, i.generations, i.greedy, i.seed) == (256, 5000, True, 1)
    assert i.tags == ("w256", "g5000", "greedy", "s1")
    assert i.base == "breakout-minatar-F-16"


@pytest.mark.parametrize(
    "fields",
    [
        dict(env="hopper", variant="R", size=64),
        dict(env="breakout-minatar", variant="F", size=16, seed=2),
        dict(
            env="x_y-z",
            variant="R",
            size=1,
            width=8,
            generations=3,
            greedy=True,
            seed=7,
        ),
    ],
)
def test_format_then_parse(fields):
    i = DatasetId(**fields)
    assert parse_dataset_id(format_dataset_id(i)) == i


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("   ", "whitespace"),
        ("hopper-R-64 ", "whitespace"),
        ("hopper R-64", "whitespace"),
        ("../x", "path"),
        ("a/b", "path"),
        ("my-org/hopper-R-64", "path"),
        ("C:\\data\\x", "path"),
        ("hf:org/repo", "path"),
        (".hidden-R-1", "path"),
        ("hopper-X-64", "variant 'X'"),
        ("hopper-r-64", "variant 'r'"),
        ("hopper-RRR-64", "variant 'RRR' must be 'F' .*'R' .* or 'RR'"),
        ("hopper-FR-64", "variant 'FR'"),
        ("hopper-R-064", "size '064'"),
        ("hopper-R-0", "size '0'"),
        ("hopper-R-", "size ''"),
        ("hopper-R", "expected"),
        ("hopper", "expected"),
        ("Hopper-R-64", "lowercase"),
        ("hop--per-R-64", "lowercase"),
        ("hopper-R-64.s0", "unknown tag"),
        ("hopper-R-64.w512", "default"),
        ("hopper-R-64.g2000", "default"),
        ("hopper-R-64.s1.w256", "out of order"),
        ("hopper-R-64.s1.s2", "out of order"),
        ("hopper-R-64.foo", "unknown tag"),
        ("hopper-R-64.", "unknown tag"),
    ],
)
def test_bad_ids_raise_with_source_prefixes(text, match):
    with pytest.raises(InvalidDatasetIdError, match=match) as info:
        parse_dataset_id(text)
    msg = str(info.value)
    assert "file:" in msg and "hf:" in msg
    assert isinstance(info.value, UnknownDatasetError)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, HadesZooError)
    assert not is_dataset_id(text)


@pytest.mark.parametrize(
    "fields, match",
    [
        (dict(env="Hopper", variant="R", size=1), "lowercase"),
        (dict(env="hopper", variant="X", size=1), "variant"),
        (dict(env="hopper", variant="R", size=0), "size"),
        (dict(env="hopper", variant="R", size=True), "size"),
        (dict(env="hopper", variant="R", size=1, seed=-1), "seed"),
        (dict(env="hopper", variant="R", size=1, width=512), "default"),
    ],
)
def test_bad_fields(fields, match):
    with pytest.raises(InvalidDatasetIdError, match=match):
        DatasetId(**fields)


def test_env_slug():
    assert env_slug("Breakout-MinAtar") == "breakout-minatar"
    assert env_slug("inverted_double_pendulum") == "inverted_double_pendulum"
    with pytest.raises(ValueError, match="cannot be written"):
        env_slug("a b")

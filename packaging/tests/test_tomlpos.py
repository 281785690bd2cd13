"""The TOML locator: every key and value of a parsed text is found where it is written."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_policy import DEPLOYMENT, MINIMAL

from bundlecheck.tomlpos import Positions, syntax_error_position

CONVIRT = (resources.files("bundlecheck") / "policies" / "convirt.toml").read_text()


def _paths(data, prefix=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


@pytest.mark.parametrize("text", [CONVIRT, MINIMAL + DEPLOYMENT], ids=["convirt", "minimal"])
def test_every_path_of_a_policy_is_found_on_a_line_that_names_it(text):
    positions = Positions(text)
    lines = text.split("\n")
    for path in _paths(tomllib.loads(text)):
        assert path in positions.keys or path in positions.values, path
        if isinstance(path[-1], str):
            line, column = positions.locate(path)
            assert path[-1] in lines[line - 1][column - 1:] or f"[[{path[-2]}]]" in lines[line - 1], path


TRICKY = '''# a comment with [brackets] and = signs
title = """a "multi-line"
string with ''' + "'''" + ''' inside"""
"quoted key" = 'C:\\path'
dotted.key.here = 1   # trailing comment
lit = \'\'\'
[not a table]
\'\'\'
nested = { a = [1, [2, 3], { b = "}" }], c = "]" }

[[fruit]]
name = "apple"
[fruit.physical]
colour = "red"
[[fruit.variety]]
name = "red delicious"
[[fruit.variety]]
name = "granny smith"
[[fruit]]
name = "banana"
[[fruit.variety]]
name = "plantain"
'''


def test_tricky_toml_is_located():
    data = tomllib.loads(TRICKY)
    positions = Positions(TRICKY)
    lines = TRICKY.split("\n")

    def line_of(path, value=False):
        line, column = positions.locate(path, value=value)
        return lines[line - 1][column - 1:]

    assert line_of(("quoted key",)).startswith('"quoted key"')
    assert line_of(("dotted", "key", "here")).startswith("dotted.key.here")
    assert line_of(("nested", "c"), value=True).startswith('"]"')
    assert line_of(("nested", "a", 2, "b"), value=True).startswith('"}"')
    assert line_of(("fruit", 0, "variety", 1, "name")) == 'name = "granny smith"'
    assert line_of(("fruit", 1, "variety", 0, "name")) == 'name = "plantain"'
    assert line_of(("fruit", 0, "physical", "colour")) == 'colour = "red"'
    assert data["fruit"][1]["variety"][0]["name"] == "plantain"
    assert ("not a table",) not in positions.keys


def test_a_missing_path_falls_back_to_its_nearest_parent():
    positions = Positions(MINIMAL)
    assert positions.locate(("layout", "no_such_key")) == positions.locate(("layout",)) == (3, 1)
    assert positions.locate(("nothing",)) is None


def test_syntax_error_positions_are_read_from_tomllib():
    try:
        tomllib.loads("a = 1\nb = \n")
    except tomllib.TOMLDecodeError as exc:
        sentence, (line, column) = syntax_error_position(str(exc), "a = 1\nb = \n")
    assert line == 2 and column >= 4 and "at line" not in sentence


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, CONVIRT.count("\n")), max_size=4), st.integers(0, len(CONVIRT)),
       st.text(alphabet="[]{}\"'=,#\n .\\x", max_size=6))
def test_the_locator_never_fails_on_text_tomllib_accepts(dropped, at, inserted):
    lines = [line for i, line in enumerate(CONVIRT.split("\n")) if i not in dropped]
    text = "\n".join(lines)
    text = text[:at] + inserted + text[at:]
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    positions = Positions(text)  # must return, never raise or loop
    assert positions.keys

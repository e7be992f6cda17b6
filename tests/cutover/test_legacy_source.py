"""Reading a CSV export's records (fynlo.cutover.legacy.source.records)."""

import io

import pytest

from fynlo.cutover.legacy.source import ParseError, records

CSV = (
    "id,items,note\n"
    'a1,"[{""p"": 1}]",x\n'  # known, one line, quotes balanced: skipped
    'a2,"[{""p"": 2}]","two\nlines"\n'  # known, but the record goes on: parsed
    "b1,[],y\n"  # not known: parsed
    ' a1 ,"[]",z\n'  # known once stripped: skipped
)


def test_a_known_one_line_record_is_skipped_and_the_others_parsed_with_their_lines():
    known = {"a1", "a2"}
    got = list(records(io.StringIO(CSV), skip=lambda head: head.strip() in known))
    assert got == [
        (1, ["id", "items", "note"]),
        (2, None),
        (3, ["a2", '[{"p": 2}]', "two\nlines"]),
        (5, ["b1", "[]", "y"]),
        (6, None),
    ]


def test_without_skip_every_record_is_parsed():
    got = list(records(io.StringIO(CSV)))
    assert [line for line, _ in got] == [1, 2, 3, 5, 6]
    assert all(fields is not None for _, fields in got)
    assert got[1][1] == ["a1", '[{"p": 1}]', "x"]


def test_an_unknown_record_is_still_checked():
    broken = 'id,items\nb1,"never closed\n'
    with pytest.raises(ParseError) as error:
        list(records(io.StringIO(broken), skip=lambda head: head == "a1"))
    assert error.value.line == 2

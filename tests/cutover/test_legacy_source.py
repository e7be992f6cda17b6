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


def test_read_ahead_advises_the_kernel_and_skips_what_it_cannot_open(tmp_path, monkeypatch):
    import os
    import threading

    from fynlo.cutover.legacy.source import read_ahead

    present = tmp_path / "orders.csv"
    present.write_bytes(b"id,total\n1,2.50\n" * 1000)
    failures = []
    monkeypatch.setattr(threading, "excepthook", failures.append)  # what a dying thread raised
    thread = read_ahead([tmp_path / "missing.csv", present, tmp_path])  # a folder: opened, advised or not
    if not hasattr(os, "posix_fadvise"):
        assert thread is None
        return
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert failures == []
    assert present.read_bytes().count(b"\n") == 2000  # the file untouched


def test_a_folder_source_reads_its_files_with_the_read_ahead_running(tmp_path):
    from fynlo.cutover.legacy.source import open_source

    (tmp_path / "orders.csv").write_text("id,total_amount\n1,2.50\n2,3.00\n")
    source = open_source(tmp_path, tables=["orders"])
    with source.files["orders"].open_text() as text:
        assert text.read().splitlines() == ["id,total_amount", "1,2.50", "2,3.00"]

"""Readers: the three input layouts, compression, folders, and bad input that never aborts a run."""

import gzip
import json
import lzma
import os
import shutil
import subprocess
import sys

import pytest

from cableqa.cables import Report, parse_date, read_paths, split_tags

from conftest import SEED, cable_record, teletype, write_jsonl

CSV_ROW = ('"{n}","12/2/2005 9:08","{id}","Embassy Testville","CONFIDENTIAL","05TESTVILLE1|05TESTVILLE2",'
           '"header","{body}"\n')


def read(paths):
    report = Report()
    return list(read_paths(paths, report)), report


def test_seed_page():
    (c,), report = read([SEED])
    assert not report.problems
    assert (c.id, c.origin, c.created, c.classification) == (
        "05ALMATY4281", "US Office Almaty", "2005-12-02T09:08:00", "CONFIDENTIAL")
    assert c.tags == ("PGOV", "PREL", "KZ", "2005 Election")
    assert c.subject == "KAZAKHSTAN: RUMORS OF ELECTION-RELATED VIOLENCE SPARK PUBLIC ANXIETY"
    assert c.references == ("05ALMATY4144",)
    assert c.body.startswith("C O N F I D E N T I A L  ALMATY 004281")
    assert "Disclaimer" not in c.body and "Latest source" not in c.body
    assert c.body.rstrip().endswith("ORDWAY")


def test_csv_dump_with_backslash_escapes(tmp_path):
    body = teletype("CSV CABLE", ['He said \\"no\\" and left.', "Another paragraph here."])
    path = tmp_path / "cables.csv"
    path.write_text(CSV_ROW.format(n=1, id="05TESTVILLE3", body=body), encoding="utf-8")
    (c,), report = read([path])
    assert not report.problems
    assert c.id == "05TESTVILLE3" and c.created == "2005-12-02T09:08:00"
    assert c.references == ("05TESTVILLE1", "05TESTVILLE2")
    assert c.subject == "CSV CABLE" and c.tags == ("PREL", "XX")
    assert 'He said "no" and left.' in c.body


def test_jsonl_and_compression(tmp_path):
    recs = [cable_record(f"04TESTVILLE{i}", teletype(f"S{i}", [f"Paragraph {i}."])) for i in range(3)]
    write_jsonl(tmp_path / "a.jsonl", recs[:1])
    gz = tmp_path / "b.jsonl.gz"
    gz.write_bytes(gzip.compress(json.dumps(recs[1]).encode()))
    xz = tmp_path / "sub" / "c.jsonl.xz"
    xz.parent.mkdir()
    xz.write_bytes(lzma.compress(json.dumps(recs[2]).encode()))
    cables, report = read([tmp_path])
    assert not report.problems
    assert [c.id for c in cables] == ["04TESTVILLE0", "04TESTVILLE1", "04TESTVILLE2"]
    assert cables[0].source.endswith("a.jsonl:1")


def test_bad_input_is_reported_and_the_rest_read(tmp_path):
    good = cable_record("04GOOD1", teletype("GOOD", ["Fine."]))
    lines = [json.dumps(good), "{not json", json.dumps({"id": "04NOBODY1"}), json.dumps({"body": "x"}),
             "[1, 2]", json.dumps(cable_record("04BADDATE1", "text", created="2004-13-45"))]
    (tmp_path / "mixed.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "binary.bin").write_bytes(b"\x00\x01\x02\xff" * 100)
    (tmp_path / "notes.txt").write_text("just some notes, not a cable page")
    (tmp_path / "rows.csv").write_text('"1","bad"\n' + CSV_ROW.format(n=2, id="05CSVGOOD1", body="Body text."))
    cables, report = read([tmp_path])
    assert sorted(c.id for c in cables) == ["04BADDATE1", "04GOOD1", "05CSVGOOD1"]
    text = "\n".join(map(str, report.problems))
    assert "mixed.jsonl:2: not valid JSON" in text
    assert "mixed.jsonl:3 (04NOBODY1): no body text" in text
    assert "mixed.jsonl:4: no cable id" in text
    assert "mixed.jsonl:5: not a JSON object" in text
    assert "04BADDATE1" in text and "not a valid date" in text
    assert "empty.jsonl: empty file" in text
    assert "binary.bin: binary file" in text
    assert "notes.txt: no 'Identifier:' line" in text
    assert "rows.csv:1: expected 8 columns" in text


def test_encodings(tmp_path):
    page = SEED.read_text(encoding="utf-8").replace("Nurkadilov", "Nurkädilov")
    (tmp_path / "utf16.txt").write_bytes(page.encode("utf-16"))
    (tmp_path / "cp1252.txt").write_bytes(page.replace("05ALMATY4281", "05ALMATY4282").encode("cp1252"))
    cables, report = read([tmp_path])
    assert sorted(c.id for c in cables) == ["05ALMATY4281", "05ALMATY4282"]
    assert all("Nurkädilov" in c.body for c in cables)
    (warning,) = report.problems
    assert "cp1252.txt" in warning.where and "Windows-1252" in warning.reason and not warning.skipped


def test_truncated_xz_keeps_what_came_before(tmp_path):
    recs = [cable_record(f"04TRUNC{i}", teletype("T", [f"Paragraph {i} " * 50])) for i in range(200)]
    data = lzma.compress("".join(json.dumps(r) + "\n" for r in recs).encode())
    (tmp_path / "cut.jsonl.xz").write_bytes(data[: len(data) // 2])
    cables, report = read([tmp_path])
    assert 0 < len(cables) < 200
    assert any("damaged" in p.reason for p in report.problems)


def test_unreadable_file(tmp_path):
    path = write_jsonl(tmp_path / "locked.jsonl", [cable_record("04X1", "body")])
    path.chmod(0)
    if os.geteuid() != 0:
        cables, report = read([tmp_path])
        assert not cables and "cannot read" in str(report.problems[0])
        return
    # root reads any file: read it in a child without the capabilities that override permissions
    if not shutil.which("setpriv"):
        pytest.skip("running as root, and setpriv (util-linux) is missing to drop root's file capabilities")
    code = ("import sys; from cableqa.cables import read_paths, Report; r = Report(); "
            "print(len(list(read_paths([sys.argv[1]], r)))); print(*r.problems, sep='\\n')")
    run = subprocess.run(["setpriv", "--bounding-set", "-dac_override,-dac_read_search", sys.executable, "-c", code,
                          str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    count, problem = run.stdout.splitlines()[:2]
    assert count == "0" and "locked.jsonl" in problem and "cannot read" in problem


def test_symlink_loop_and_missing_path(tmp_path):
    (tmp_path / "d").mkdir()
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    write_jsonl(tmp_path / "d" / "a.jsonl", [cable_record("04LOOP1", "body text")])
    cables, report = read([tmp_path / "d", tmp_path / "missing"])
    assert [c.id for c in cables] == ["04LOOP1"]
    text = "\n".join(map(str, report.problems))
    assert "symlink loop" in text and "missing" in text


def test_dates_and_tags():
    assert parse_date("12/2/2005 9:08") == "2005-12-02T09:08:00"
    assert parse_date("2005-12-02 09:08:00") == "2005-12-02T09:08:00"
    assert parse_date("13/45/2005 9:08") is None
    assert split_tags("PGOV, PREL, KZ, 2005 Election") == ("PGOV", "PREL", "KZ", "2005 Election")
    assert split_tags("PGOV PREL KZ") == ("PGOV", "PREL", "KZ")

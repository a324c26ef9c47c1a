"""Adding cables while serving: upload guards, the background indexing worker, the watched folder,
the glance counts and the conversations kept in the browser.  Fake embedder; no browser."""

import gzip
import json
import lzma
import time

import pytest

from cableqa import conversations, glance
from cableqa.export import Turn
from cableqa.index import Index
from cableqa.ingest import Ingest, Rejected, accept_upload, accept_uploads, expanded_size, safe_name
from cableqa.render import Answer
from cableqa.search import Hit
from cableqa.watch import Settler, Watcher, hidden, watch_into

from conftest import FakeEmbedder, cable_record, teletype, write_jsonl


def records(n, prefix="04TESTVILLE", start=0):
    return [cable_record(f"{prefix}{i}", teletype(f"SUBJECT {i}", [f"Alpha {i} talks about topic{i} today."]))
            for i in range(start, start + n)]


def make(manifest):
    return FakeEmbedder()


# -- upload guards ------------------------------------------------------------------------

@pytest.mark.parametrize("given, kept", [
    ("cables.jsonl", "cables.jsonl"),
    ("../../etc/cron.d/evil.jsonl", "evil.jsonl"),
    ("C:\\Users\\ana\\new cables.csv", "new_cables.csv"),
    (".hidden.txt", "hidden.txt"),
    ("dump.JSONL.XZ", "dump.jsonl.xz"),
    ("x" * 300 + ".jsonl.gz", "x" * 111 + ".jsonl.gz"),
    ("café «new».ndjson", "caf_new.ndjson"),
])
def test_safe_name_keeps_only_a_plain_last_part(given, kept):
    assert safe_name(given) == kept


@pytest.mark.parametrize("given", ["", "..", "/", "notes.pdf", "run.sh", "archive.tar.gz", ".jsonl", "a.xz"])
def test_safe_name_refuses_what_is_no_cable_file(given):
    with pytest.raises(Rejected):
        safe_name(given)


def test_upload_is_kept_in_the_corpus_under_our_name(tmp_path):
    temp = write_jsonl(tmp_path / "tmp-upload", records(2))
    corpus = tmp_path / "corpus"
    path, new = accept_upload(temp, "../../x/new.jsonl", corpus)
    assert path == corpus / "uploads" / "new.jsonl" and new and path.read_bytes() == temp.read_bytes()
    assert accept_upload(temp, "new.jsonl", corpus) == (path, False)  # the same bytes again: the same file
    write_jsonl(temp, records(3))
    other, new = accept_upload(temp, "new.jsonl", corpus)  # other bytes, same name: never overwritten
    assert other.name == "new-2.jsonl" and new and len(path.read_text().splitlines()) == 2
    assert not list((corpus / "uploads").glob(".*"))  # no half-written file left behind


def test_upload_size_limit_and_empty_file(tmp_path):
    temp = write_jsonl(tmp_path / "t", records(3))
    with pytest.raises(Rejected, match="upload limit"):
        accept_upload(temp, "a.jsonl", tmp_path / "c", max_bytes=100)
    (tmp_path / "e").write_bytes(b"")
    with pytest.raises(Rejected, match="empty"):
        accept_upload(tmp_path / "e", "a.jsonl", tmp_path / "c")


@pytest.mark.parametrize("suffix, pack", [(".gz", gzip.compress), (".xz", lzma.compress)])
def test_decompression_bomb_is_refused_before_reading(tmp_path, suffix, pack):
    bomb = tmp_path / ("bomb.jsonl" + suffix)
    bomb.write_bytes(pack(b"\0" * (8 * 2**20)))  # 8 MiB of zeros in a few KiB
    assert bomb.stat().st_size < 100_000
    with pytest.raises(Rejected, match="decompressed"):
        accept_upload(bomb, bomb.name, tmp_path / "c", max_expanded=2**20)
    assert not (tmp_path / "c" / "uploads" / bomb.name).exists()
    good = tmp_path / ("ok.jsonl" + suffix)
    good.write_bytes(pack(b"{}\n" * 1000) + pack(b"{}\n"))  # two members / streams in a row count whole
    assert expanded_size(good) == 3003


def test_truncated_archive_is_kept_for_the_reader_to_report(tmp_path):
    damaged = tmp_path / "d.jsonl.xz"
    damaged.write_bytes(lzma.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records(3)))[:-40])
    path, _ = accept_upload(damaged, damaged.name, tmp_path / "c")
    assert path.exists()


def test_accept_uploads_reports_each_refusal_by_file_name(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", records(1))
    (tmp_path / "evil.sh").write_text("rm -rf /")
    up = accept_uploads([(good, "good.jsonl"), (tmp_path / "evil.sh", "/tmp/x/evil.sh")], tmp_path / "c")
    assert [p.name for p in up.kept] == ["good.jsonl"] and up.new == 1
    assert [(p.where, "not a cable file name" in p.reason) for p in up.rejected] == [("evil.sh", True)]


# -- background indexing --------------------------------------------------------------------

def test_ingest_indexes_good_cables_and_reports_bad_rows(tmp_path):
    corpus, ix = tmp_path / "corpus", tmp_path / "ix"
    ingest = Ingest(ix, make, corpus)
    lines = [json.dumps(r) for r in records(3)] + ["{not json", json.dumps({"id": "", "body": "x"})]
    temp = tmp_path / "upload"
    temp.write_text("\n".join(lines) + "\n")
    up = accept_uploads([(temp, "mixed.jsonl"), (temp, "bad.exe")], corpus)
    assert ingest.submit(up.kept, "upload", rejected=up.rejected)
    p = ingest.wait_idle(60)
    assert p.state == "done" and p.published and p.cables_done == p.cables_total == 3 and p.chunks_done == 3
    wheres = [(pr.where.rsplit("/", 1)[-1], pr.reason.split(" (")[0]) for pr in p.problems]
    assert ("bad.exe", "not a cable file name: expected .txt pages, .csv, .jsonl/.ndjson/.json, plain or .gz/.xz") \
        in wheres
    assert ("mixed.jsonl:4", "not valid JSON") in wheres and ("mixed.jsonl:5", "no cable id") in wheres
    assert Index(ix).info()["cables"] == 3
    # the same file again (the watcher seeing the upload): nothing queued
    assert not ingest.submit(up.kept, "again", skip_seen=True)
    # forget a source: its cables leave the index, the file stays
    ingest.submit([], "remove", forget=up.kept)
    assert ingest.wait_idle(60).state == "done" and Index(ix).info()["cables"] == 0 and up.kept[0].exists()
    ingest.close()


def test_ingest_reports_a_failed_run_and_goes_on(tmp_path):
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OSError("disk full")
        return type("S", (), {"summary": lambda self: "ok", "published": "g2", "problems": []})()

    ingest = Ingest(tmp_path / "ix", make, tmp_path, run=failing)
    ingest.submit([tmp_path / "a.jsonl"], "first")
    ingest.submit([tmp_path / "b.jsonl"], "second")
    assert ingest.wait_idle(10).state == "done" and len(calls) == 2
    ingest.close()


def test_time_left_from_the_chunks_per_cable_so_far():
    from cableqa.ingest import Progress

    p = Progress(state="embedding", cables_done=20, cables_total=100, chunks_done=200, chunks_per_cable=5.0,
                 started=100.0)
    assert p.chunks_expected == 500 and p.seconds_left(now=110.0) == pytest.approx(15.0)
    assert Progress(state="reading").seconds_left() is None


def test_upload_and_removal_need_a_login_beyond_loopback(tmp_path):
    from cableqa.ui_corpus import Desk

    desk = Desk(engine=None, corpus=tmp_path / "corpus", index=tmp_path / "ix", require_login=True)
    temp = write_jsonl(tmp_path / "t.jsonl", records(1))
    shown, cleared = desk.upload([str(temp)], request=None)
    assert "Log in" in shown and cleared is None and not (tmp_path / "corpus").exists()
    assert "Log in" in desk.remove(str(temp), request=None)[1] and temp.exists()
    desk.close()


def test_a_server_started_again_finishes_an_upload_it_was_stopped_in(tmp_path):
    from cableqa.ui_corpus import Desk

    corpus, ix = tmp_path / "corpus", tmp_path / "ix"
    # kept in corpus/uploads, then the server was killed before it indexed the file
    accept_uploads([(write_jsonl(tmp_path / "t.jsonl", records(2)), "new.jsonl")], corpus)
    searcher = type("S", (), {"embedder": FakeEmbedder()})()
    engine = type("E", (), {"with_searcher": lambda self, use: use(searcher)})()
    desk = Desk(engine, corpus, ix)  # not watching: only the uploads folder is caught up
    assert desk.ingest.wait_idle(60).state == "done" and Index(ix).info()["cables"] == 2
    desk.close()


# -- the watched folder -------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_settler_waits_for_a_quiet_period():
    clock, sizes = Clock(), {"a": (10, 1)}
    s = Settler(quiet=2.0, clock=clock, stamp=lambda p: sizes.get(str(p)))
    s.touch("a")
    clock.now = 1.9
    assert s.due() == ([], [])
    clock.now = 2.0
    assert [p.name for p in s.due()[0]] == ["a"] and len(s) == 0
    s.touch("a")  # several events within the period: one hand-out
    s.touch("a")
    clock.now = 5.0
    assert len(s.due()[0]) == 1 and s.due() == ([], [])


def test_settler_never_hands_out_a_file_still_growing():
    clock, sizes = Clock(), {"big": (100, 1)}
    s = Settler(quiet=2.0, clock=clock, stamp=lambda p: sizes.get(str(p)))
    s.touch("big")
    for t in range(1, 10):  # written to every second, no event needed: the poll sees the change
        clock.now = float(t)
        sizes["big"] = (100 + t, t)
        assert s.due() == ([], [])
    clock.now = 10.9
    assert s.due() == ([], [])
    clock.now = 11.0
    assert [p.name for p in s.due()[0]] == ["big"]
    s.touch("gone")  # removed: handed out as gone
    clock.now = 20.0
    assert [p.name for p in s.due()[1]] == ["gone"]


def test_hidden_parts_are_ignored(tmp_path):
    assert hidden(tmp_path / ".x.part", tmp_path) and hidden(tmp_path / ".removed" / "a.jsonl", tmp_path)
    assert not hidden(tmp_path / "uploads" / "a.jsonl", tmp_path) and hidden(tmp_path.parent / "a", tmp_path)


def test_watcher_indexes_a_copied_file_once_written(tmp_path):
    corpus, ix = tmp_path / "corpus", tmp_path / "ix"
    corpus.mkdir()
    got = []
    w = Watcher(corpus, lambda ready, gone: got.append((ready, gone)), quiet=0.6, poll=0.1).start()
    try:
        target = corpus / "new.jsonl"
        with open(target, "w") as f:  # written slowly: half a file must not be handed out
            for rec in records(4):
                f.write(json.dumps(rec) + "\n")
                f.flush()
                time.sleep(0.3)
        assert got == []
        deadline = time.time() + 10
        while not got and time.time() < deadline:
            time.sleep(0.1)
        assert got and got[0][0] == [target.resolve()]
    finally:
        w.stop()
    ingest = Ingest(ix, make, corpus)
    w = watch_into(ingest, corpus, quiet=0.5)
    try:
        assert ingest.wait_idle(60).state == "done" and Index(ix).info()["cables"] == 4  # the catch-up
        write_jsonl(corpus / "more.jsonl", records(2, start=10))
        deadline = time.time() + 20
        while Index(ix).info()["cables"] != 6 and time.time() < deadline:
            time.sleep(0.2)
        assert Index(ix).info()["cables"] == 6
        (corpus / "new.jsonl").unlink()  # removed from the folder: its cables are pruned
        deadline = time.time() + 20
        while Index(ix).info()["cables"] != 2 and time.time() < deadline:
            time.sleep(0.2)
        assert Index(ix).info()["cables"] == 2
    finally:
        w.stop()
        ingest.close()


# -- glance -------------------------------------------------------------------------------

def test_glance_counts_months_with_gaps_posts_and_tags():
    g = glance.glance([("Embassy Cairo", "2005-11-03T10:00:00", ("PGOV", "EG")),
                       ("Embassy Cairo", "2006-01-20T10:00:00", ("pgov", "KDEM")),
                       ("US Office Almaty", "2006-01-02T00:00:00", ("PGOV",)),
                       ("US Office Almaty", "", ())])
    assert g.cables == 4 and g.undated == 1 and g.unit == "month"
    assert g.timeline == (("2005-11", 1), ("2005-12", 0), ("2006-01", 2))
    assert g.posts == (("Embassy Cairo", 2), ("US Office Almaty", 2))
    assert g.tags[0] == ("PGOV", 3) and dict(g.tags)["KDEM"] == 1


def test_glance_counts_a_long_span_by_year():
    g = glance.glance([("A", "1990-05-01", ()), ("A", "2009-02-01", ()), ("B", "2009-12-01", ())], max_months=100)
    assert g.unit == "year" and g.timeline[0] == ("1990", 1) and g.timeline[-1] == ("2009", 2) and len(g.timeline) == 20
    assert glance.glance([]).timeline == ()


def test_period_bounds_from_a_chart_selection():
    assert glance.period_bounds(["2006-01", "2005-11", "2005-12"]) == ("2005-11", "2006-01")
    assert glance.period_bounds("2005") == ("2005", "2005")
    assert glance.period_bounds([1.5e9, 1.6e9]) is None and glance.period_bounds([]) is None


# -- conversations --------------------------------------------------------------------------

def _turn(q="Who suspected whom?"):
    hit = Hit(cable_id="05ALMATY4281", para="3", ordinal=3, marking="C", section=None, text="He said so.",
              score=0.5, origin="US Office Almaty", created="2005-12-02T09:08:00", classification="CONFIDENTIAL",
              subject="ELECTIONS", chunk="05ALMATY4281#3", also=(("06X1", 2, "06X1 ¶2"),))
    return Turn(q, "origin ~ Almaty", Answer("He said so.", hit, 0.9), (hit,))


def test_conversation_round_trip_through_json():
    store = conversations.save(conversations.EMPTY, "c1", [{"role": "user", "content": [{"type": "text",
                                                                                        "text": "<p>q</p>"}]},
                                                           {"role": "assistant", "content": "<div>a</div>"}],
                               (_turn(),))
    store = json.loads(json.dumps(store))  # what the browser keeps
    messages, turns = conversations.load(store, "c1")
    assert messages[0] == {"role": "user", "content": "<p>q</p>"} and turns == (_turn(),)
    assert conversations.current(store) == "c1"
    assert conversations.choices(store)[0][0].endswith("Who suspected whom?")


def test_conversations_newest_first_bounded_and_empty_not_kept(monkeypatch):
    monkeypatch.setattr(conversations, "MAX_CONVERSATIONS", 3)
    store = conversations.EMPTY
    for i in range(5):
        store = conversations.save(store, f"c{i}", [{"role": "user", "content": f"q{i}"}], (_turn(f"q{i}"),))
    assert [cid for _, cid in conversations.choices(store)] == ["c4", "c3", "c2"]
    store = conversations.save(store, "c9", [], ())  # a new, empty conversation: current, not listed
    assert conversations.current(store) == "c9" and len(store["list"]) == 3
    assert conversations.load(store, "nope") is None and conversations.load("garbage", "c1") is None


def test_secret_is_made_once_and_kept(tmp_path):
    first = conversations.secret_for(tmp_path / "ix")
    assert first == conversations.secret_for(tmp_path / "ix") and len(first) > 20
    assert oct((tmp_path / "ix" / "browser-secret").stat().st_mode)[-3:] == "600"

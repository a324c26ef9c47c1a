"""A candidate embedding model on the full corpus, scored without re-embedding the corpus.

Question: how would the dev questions score if the index were embedded with another model
(a new `cableqa adapt` recipe, a larger model), at a fraction of a 41-minute re-embed?
Baseline: the index's own model, through the same shortcut and as shipped, in the same run.

The shortcut: the shipped search runs once per question on the real index, and every chunk
it touches is recorded (the 300 chunks nearest the question by the index's vectors, its
keyword candidates, and the stage-2 pool of the best cables' paragraphs: about 340 a question,
37.6k for the 110 dev questions of the full corpus, against its 162k). Each candidate model
embeds only those chunks, exactly as the index embeds them (cable context + paragraph). Its
search then ranks the question's recorded chunks where the index would search FAISS, and embeds any other chunk its own stage 2 asks for. The
keyword side, filters and priors are the shipped ones. What it cannot see: a chunk the
candidate would have found in stage 1 that the index's own search never touched.

Validated on the full corpus: the stock all-MiniLM-L6-v2 scored 0.791 / 0.613 (Recall@5 /
MRR@10) through this shortcut over the adapted index, the same as its own full index
(results/adapt-full.txt).

    python benchmarks/model_proxy.py --index /work/ix/full-ad --model sentence-transformers/all-MiniLM-L6-v2 \\
        --model /work/ix/full-model-ctx [--out results/model-proxy-full.txt]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import DEV, Output, table

DENSE_SCOPE = 300  # nearest chunks recorded per question (stage 1 itself uses 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, help="a built index (its own model is the baseline)")
    parser.add_argument("--model", action="append", required=True, help="candidate model name or folder; repeat")
    parser.add_argument("--backend", help="embedding backend for the candidates [default: the index's]")
    parser.add_argument("--questions", default=str(DEV))
    parser.add_argument("--out", help="also write the output to this file")
    args = parser.parse_args()

    from cableqa import vectors
    from cableqa.embed import load_embedder
    from cableqa.evaluate import load_questions, score
    from cableqa.retrieval import Retriever
    from cableqa.search import Searcher

    touched: set[int] = set()

    class Recording(Retriever):
        """The shipped retriever, noting every chunk id it ranks."""

        def dense(self, qvec, allowed, k):
            ids = super().dense(qvec, allowed, max(k, DENSE_SCOPE))
            touched.update(ids)
            return ids[:k]

        def keyword(self, text, allowed, k):
            ids = super().keyword(text, allowed, k)
            touched.update(ids)
            return ids

        def exact(self, qvec, ids):
            touched.update(ids)
            return super().exact(qvec, ids)

    class Candidate(Retriever):
        """Dense ranking by the candidate's vectors, over the question's recorded chunks."""

        store: dict[int, np.ndarray] | None = None  # None: the index's stored vectors
        scope: set[int] = set()

        def vecs(self, ids: list[int]) -> np.ndarray:
            if self.store is None:
                return vectors.lookup(self.index.faiss, np.asarray(ids, dtype=np.int64))
            missing = [i for i in ids if i not in self.store]
            if missing:
                texts = embed_texts(self.index, missing)
                self.store.update(zip(missing, self.embedder.encode([texts[i] for i in missing])))
            return np.stack([self.store[i] for i in ids])

        def exact(self, qvec, ids):
            ids = list(ids)
            return [ids[i] for i in np.argsort(-(self.vecs(ids) @ qvec), kind="stable")]

        def dense(self, qvec, allowed, k):
            scope = self.scope if allowed is None else self.scope & set(allowed)
            return self.exact(qvec, sorted(scope))[:k]

    class Proxy(Searcher):
        kind: type[Retriever] = Retriever

        @property
        def retriever(self) -> Retriever:
            return self.kind(self.index, self.embedder, self.tuning)

    out = Output("a candidate model scored over the chunks the shipped search touches (no re-embed), dev questions",
                 args.out)
    questions = load_questions(args.questions)
    searcher = Proxy(args.index)
    searcher.warm()
    info = searcher.info()
    backend = args.backend or info["backend"]
    out.print(f"index: {args.index}: {info['cables']} cables, {info['chunks']} chunks, {info['model']} "
              f"({info['backend']}), FAISS {info['faiss']}")

    def ask(q: dict) -> list[dict]:
        return [h.to_json() for h in searcher.search(q["q"], history=q.get("history") or (), k=10).hits]

    scopes: dict[str, set[int]] = {}

    def recorded(q: dict) -> list[dict]:
        touched.clear()
        hits = ask(q)
        scopes[q["qid"]] = set(touched)
        return hits

    searcher.kind = Recording
    results = {"index model, as shipped (FAISS)": (score(questions, recorded), "-", "-")}
    every = sorted(set().union(*scopes.values()))
    out.print(f"recorded chunks: {len(every)} ({len(every) / info['chunks']:.0%} of the index), "
              f"{len(every) / len(questions):.0f} a question on average")

    def proxied(q: dict) -> list[dict]:
        Candidate.scope = scopes[q["qid"]]
        return ask(q)

    searcher.kind = Candidate
    Candidate.store = None
    results["index model, through the shortcut"] = (score(questions, proxied), "-", "-")
    for model in args.model:
        searcher._embedder = load_embedder(model, backend, device=searcher.device)
        started = time.perf_counter()
        texts = embed_texts(searcher.index, every)
        Candidate.store = dict(zip(every, searcher.embedder.encode([texts[i] for i in every])))
        seconds = time.perf_counter() - started
        before = len(Candidate.store)
        report = score(questions, proxied)
        results[model] = (report, f"{seconds:.0f}", f"{len(Candidate.store) - before}")
    base = results["index model, as shipped (FAISS)"][0].overall.row()
    rows = []
    for name, (report, seconds, extra) in results.items():
        o = report.overall.row()
        rows.append([name, f"{o['R@1']:.3f}", f"{o['R@5']:.3f}", f"{o['R@10']:.3f}", f"{o['MRR@10']:.3f}",
                     f"{o['cableR@5']:.3f}", f"{o['R@5'] / base['R@5']:.2f}x", seconds, extra])
    out.print("", table(["model", "R@1", "R@5", "R@10", "MRR@10", "cableR@5", "R@5 vs index", "embed s",
                         "more chunks embedded"], rows))
    for name, (report, _, _) in results.items():
        report.latencies.clear()  # not search timings: the shortcut embeds chunks inside the search
        out.print("", report.table(f"per question type, {name}:"))
    out.save()


def embed_texts(index, ids: list[int]) -> dict[int, str]:
    """Chunk id -> the text the index embedded for it (cable context, line break, paragraph)."""
    from cableqa.chunks import embedding_input
    from cableqa.store import defined_terms, select_in

    rows = list(select_in(index.conn, "SELECT c.id, c.cable_id, c.text, f.context FROM chunks c "
                                      "JOIN chunks_fts f ON f.rowid = c.id WHERE c.id IN ({marks})", ids))
    terms = defined_terms(index.conn, (r[1] for r in rows))
    return {cid: embedding_input(ctx, text, terms.get(cable_id))[0] for cid, cable_id, text, ctx in rows}


if __name__ == "__main__":
    main()

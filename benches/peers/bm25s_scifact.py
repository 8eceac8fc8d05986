"""bm25s on SciFact: index the corpus and run the 300 test queries, timed like store_bench.

Prints one JSON object. Same text per document as ragweave's side (title + " " + text),
English stopwords and the Snowball English stemmer, top 10 per query.
"""
import json
import math
import sys
import time

import bm25s
import Stemmer


def ndcg_at_10(ranked, rel):
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted((g for g in rel.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def main(corpus_path, queries_path, qrels_path):
    docs = [json.loads(l) for l in open(corpus_path) if l.strip()]
    ids = [d["_id"] for d in docs]
    texts = [f'{d.get("title", "")} {d.get("text", "")}' for d in docs]
    rel = {}
    for line in list(open(qrels_path))[1:]:
        q, d, g = line.rstrip("\n").split("\t")
        rel.setdefault(q, {})[d] = float(g)
    queries = [json.loads(l) for l in open(queries_path) if l.strip()]
    queries = [(q["_id"], q["text"]) for q in queries if q["_id"] in rel]
    stemmer = Stemmer.Stemmer("english")

    started = time.perf_counter()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25(k1=1.2, b=0.75)
    retriever.index(tokens, show_progress=False)
    index_s = time.perf_counter() - started

    started = time.perf_counter()
    ranked = []
    for _, text in queries:
        q = bm25s.tokenize([text], stopwords="en", stemmer=stemmer, show_progress=False)
        found, _ = retriever.retrieve(q, k=10, show_progress=False)
        ranked.append([ids[i] for i in found[0]])
    search_s = time.perf_counter() - started

    started = time.perf_counter()
    q = bm25s.tokenize([t for _, t in queries], stopwords="en", stemmer=stemmer, show_progress=False)
    retriever.retrieve(q, k=10, show_progress=False)
    search_batched_s = time.perf_counter() - started

    ndcg = sum(ndcg_at_10(r, rel[q]) for (q, _), r in zip(queries, ranked)) / len(queries)
    print(json.dumps({"system": "bm25s", "version": bm25s.__version__, "docs": len(docs),
                      "queries": len(queries), "index_s": index_s, "search_s": search_s,
                      "search_batched_s": search_batched_s,
                      "ndcg@10": ndcg}))


if __name__ == "__main__":
    main(*sys.argv[1:4])

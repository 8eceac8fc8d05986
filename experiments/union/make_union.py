"""Builds the cross-domain dataset: SciFact, ArguAna and the TREC DL 2019 subset in one BEIR
directory (their document and query ids do not collide; this script checks), plus a few
example queries per domain for a router's pilots. Example queries are never evaluated:
SciFact's come from its training claims, the MS MARCO subset's from its 7 unjudged queries,
ArguAna's are its first 10 queries, which this script removes from the union's judgements.

Usage: python3 experiments/union/make_union.py DATASETS_DIR OUT_DIR
"""
import json
import os
import sys

DOMAINS = ["scifact", "arguana", "msmarco-trecdl19-subset5k"]
EXAMPLES = 10

src, out = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "qrels"), exist_ok=True)
os.makedirs(os.path.join(out, "examples"), exist_ok=True)


def read_qrels(path):
    rows = [line.rstrip("\n").split("\t") for line in open(path)]
    return [r for r in rows[1:] if len(r) == 3]


doc_ids, query_ids = set(), set()
with open(os.path.join(out, "corpus.jsonl"), "w") as corpus, open(
    os.path.join(out, "queries.jsonl"), "w"
) as queries, open(os.path.join(out, "qrels", "test.tsv"), "w") as qrels:
    qrels.write("query-id\tcorpus-id\tscore\n")
    for d in DOMAINS:
        for line in open(os.path.join(src, d, "corpus.jsonl")):
            doc = json.loads(line)
            assert doc["_id"] not in doc_ids, f"document id {doc['_id']} repeats across domains"
            doc_ids.add(doc["_id"])
            corpus.write(line if line.endswith("\n") else line + "\n")
        judged = read_qrels(os.path.join(src, d, "qrels", "test.tsv"))
        judged_ids = {r[0] for r in judged}
        all_queries = [json.loads(l) for l in open(os.path.join(src, d, "queries.jsonl"))]
        if d == "arguana":
            examples = [q for q in all_queries if q["_id"] in judged_ids][:EXAMPLES]
        else:
            examples = [q for q in all_queries if q["_id"] not in judged_ids][:EXAMPLES]
        held_out = {q["_id"] for q in examples}
        with open(os.path.join(out, "examples", d + ".txt"), "w") as f:
            for q in examples:
                f.write(q["text"].replace("\n", " ") + "\n")
        for q in all_queries:
            if q["_id"] in judged_ids and q["_id"] not in held_out:
                assert q["_id"] not in query_ids, f"query id {q['_id']} repeats across domains"
                query_ids.add(q["_id"])
                queries.write(json.dumps({"_id": q["_id"], "text": q["text"]}) + "\n")
        for r in judged:
            if r[0] not in held_out:
                qrels.write("\t".join(r) + "\n")
# ArguAna drops self-hits; no other domain's query may share an id with a document.
clash = [q for q in query_ids if q in doc_ids and not q.startswith("test-")]
assert not clash, f"query ids that are also document ids: {clash[:5]}"
print(f"{len(doc_ids)} documents, {len(query_ids)} judged queries -> {out}")

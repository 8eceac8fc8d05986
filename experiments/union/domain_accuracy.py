"""How often the cross-domain router sent a query to its own domain's index.

Reads a run file of `ragweave eval --out` on the union dataset; a query's domain is the
dataset it came from, the routed domain is the one whose corpus its retrieved documents are in.

Usage: python3 experiments/union/domain_accuracy.py DATASETS_DIR RUN_FILE
"""
import json
import os
import sys
from collections import Counter, defaultdict

DOMAINS = ["scifact", "arguana", "msmarco-trecdl19-subset5k"]
src, run_path = sys.argv[1], sys.argv[2]
doc_domain, query_domain = {}, {}
for d in DOMAINS:
    for line in open(os.path.join(src, d, "corpus.jsonl")):
        doc_domain[json.loads(line)["_id"]] = d
    for line in list(open(os.path.join(src, d, "qrels", "test.tsv")))[1:]:
        query_domain[line.split("\t")[0]] = d
routed = defaultdict(Counter)
for line in open(run_path):
    q, _, doc, _, _, _ = line.split()
    routed[q][doc_domain[doc]] += 1
confusion = Counter()
for q, c in routed.items():
    confusion[(query_domain[q], c.most_common(1)[0][0])] += 1
total = sum(confusion.values())
right = sum(n for (a, b), n in confusion.items() if a == b)
print(f"routed to the query's own domain: {right}/{total} ({right / total:.1%})")
for d in DOMAINS:
    row = {b: confusion[(d, b)] for b in DOMAINS if confusion[(d, b)]}
    print(f"  {d} queries -> {row}")

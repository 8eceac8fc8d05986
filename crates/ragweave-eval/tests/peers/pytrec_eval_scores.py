"""Scores a TREC run against TREC qrels with pytrec_eval and prints JSON per query.

Usage: python3 pytrec_eval_scores.py QRELS RUN RUN_CUT_AT_10
MRR@10 is trec_eval's recip_rank of the run cut at 10 documents.
"""
import json
import sys

import pytrec_eval

qrels_path, run_path, run10_path = sys.argv[1:4]
with open(qrels_path) as f:
    qrels = pytrec_eval.parse_qrel(f)
with open(run_path) as f:
    run = pytrec_eval.parse_run(f)
with open(run10_path) as f:
    run10 = pytrec_eval.parse_run(f)
full = pytrec_eval.RelevanceEvaluator(
    qrels, {"ndcg_cut.10", "recall.100", "map_cut.10", "P.10", "ndcg_cut.100"}
).evaluate(run)
cut = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run10)
out = {}
for q, m in full.items():
    out[q] = {
        "nDCG@10": m["ndcg_cut_10"],
        "nDCG@100": m["ndcg_cut_100"],
        "Recall@100": m["recall_100"],
        "MAP@10": m["map_cut_10"],
        "P@10": m["P_10"],
        "MRR@10": cut[q]["recip_rank"],
    }
print(json.dumps(out))

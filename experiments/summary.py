"""The summary table of docs/results.md, from the reports `experiments/run.sh` wrote.

Usage: python3 experiments/summary.py [REPORTS_DIR]   (default .ragweave/eval/reports)
"""
import json
import os
import sys

reports = sys.argv[1] if len(sys.argv) > 1 else ".ragweave/eval/reports"
# Measured with bm25s, sentence-transformers and pytrec_eval (the reference figures):
# BM25, MiniLM, their RRF, per-query best of BM25 and MiniLM.
REFERENCE = {
    "scifact": (0.6617, 0.6451, 0.6872, 0.7557),
    "arguana": (0.4827, 0.5017, 0.5364, 0.6148),
    "msmarco-trecdl19-subset5k": (0.6876, 0.7977, 0.7817, 0.8146),
}
CHOSEN = "score-dense0.5"  # the best fusion on SciFact's training claims
metric = "nDCG@10"
print(f"| dataset | BM25 | MiniLM | RRF | per-query best | best of the three | {CHOSEN} | gain |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
gains = []
for ds, ref in REFERENCE.items():
    path = os.path.join(reports, ds, "report.json")
    if not os.path.exists(path):
        continue
    r = json.load(open(path))
    mean = {e["name"]: e["scores"]["mean"][metric] for e in r["evaluations"]}
    oracle = next(o["mean"][metric] for o in r["oracles"])
    ours = (mean["bm25"], mean["dense"], mean["rrf"], oracle)
    best3 = max(ours[:3])
    gain = mean[CHOSEN] - best3
    gains.append(gain)
    cells = " | ".join(f"{o:.4f} ({f:.4f})" for o, f in zip(ours, ref))
    print(f"| {ds} | {cells} | {best3:.4f} | {mean[CHOSEN]:.4f} | {gain * 100:+.1f} |")
if gains:
    print(f"\nMean gain of {CHOSEN} over the best of BM25, MiniLM and RRF: "
          f"{sum(gains) / len(gains) * 100:+.2f} points ({len(gains)} datasets).")

"""Per-query analysis of a top-1 router against its experts, from `ragweave eval --out` files.

For each query it finds which expert the router used (its run equals that expert's run) and
whether that expert was a best one for the query (highest nDCG@10 among the experts).

Usage: python3 experiments/analyze_routing.py OUT_DIR ROUTER EXPERT [EXPERT ...]
  OUT_DIR holds report.json and <name>.run files of one eval that ran the router and, under
  their own names, single-expert pipelines equal to its experts.
"""
import json
import os
import sys
from collections import Counter, defaultdict

out, router, experts = sys.argv[1], sys.argv[2], sys.argv[3:]
report = json.load(open(os.path.join(out, "report.json")))
per_query = {e["name"]: e["scores"]["per_query"] for e in report["evaluations"]}
metric = "nDCG@10"


def ranking(name):
    runs = defaultdict(list)
    for line in open(os.path.join(out, name + ".run")):
        q, _, d, rank, _, _ = line.split()
        runs[q].append(d)
    return runs


runs = {n: ranking(n) for n in [router] + experts}
chosen = Counter()
right = 0
lost = 0.0
unknown = 0
ties = 0
decisive = 0  # queries where some expert is strictly worse than another
decisive_right = 0
always = Counter()  # decisive queries each fixed expert would get right
for q, scores in per_query[router].items():
    expert_scores = {e: per_query[e][q][metric] for e in experts}
    best = max(expert_scores.values())
    winners = [e for e, s in expert_scores.items() if s == best]
    ties += len(winners) == len(experts)
    used = [e for e in experts if runs[e][q][:10] == runs[router][q][:10]]
    lost += best - scores[metric]
    if len(winners) < len(experts):
        decisive += 1
        for w in winners:
            always[w] += 1
        decisive_right += any(u in winners for u in used)
    if not used:
        unknown += 1
        continue
    chosen[used[0]] += 1
    right += any(u in winners for u in used)
n = len(per_query[router])
oracle = sum(max(per_query[e][q][metric] for e in experts) for q in per_query[router]) / n
print(f"{router} over {experts} on {report['dataset']} ({n} queries)")
print(f"  experts chosen: {dict(chosen)}" + (f", unidentified: {unknown}" if unknown else ""))
print(f"  queries where every expert scores the same: {ties} ({ties / n:.1%}); "
      f"the chosen expert is a best one on {right} ({right / n:.1%})")
print(f"  on the {decisive} queries where the choice matters, the router picks a best expert "
      f"on {decisive_right} ({decisive_right / max(decisive, 1):.1%}); always choosing one "
      "expert would: " + ", ".join(f"{e} {always[e]}" for e in experts))
print(f"  {metric}: router {report_mean if (report_mean := next(e['scores']['mean'][metric] for e in report['evaluations'] if e['name'] == router)) else 0:.4f}, "
      f"per-query oracle {oracle:.4f}, lost to wrong routes {lost / n:.4f}")
for e in experts:
    mean = sum(per_query[e][q][metric] for q in per_query[router]) / n
    print(f"  {e} alone: {mean:.4f}")

#!/usr/bin/env python3
"""Tables for the monitor-eval scripts, from `phiguard eval --json` reports.

  eval-table.py row EVAL.json LABEL...   one line: the labels, events, recall, precision,
                                         reasons named, AUC and the worst incident kind
  eval-table.py pool DIR                 the pooled numbers over DIR/eval-*.json
"""
import glob
import json
import sys


def row(path, labels):
    r = json.load(open(path))
    k, w = min(r["kinds"].items(), key=lambda kv: kv[1]["recall"])
    cells = ["%-6s" % x for x in labels]
    print(" ".join(cells), "%-8d %-7.3f %-9.3f %-7.3f %-8.4f %s %.2f" % (
        r["events"], r["recall"], r["precision"], r["reasons_named"], r["auc_roc"], k, w["recall"]))


def pool(directory):
    kinds, reviewed, hits, reachable = {}, 0, 0, 0.0
    for f in sorted(glob.glob(directory + "/eval-*.json")):
        r = json.load(open(f))
        reviewed += r["reviewed_cases"]
        hits += r["reviewed_incident_cases"]
        reachable += r.get("recall_ceiling", 1.0) * r["incidents"]
        for k, v in r["kinds"].items():
            a = kinds.setdefault(k, [0, 0, 0])
            a[0] += v["incidents"]
            a[1] += v["caught"]
            a[2] += v["reasons_named"]
    n = sum(a[0] for a in kinds.values())
    print("pooled: %d incidents, recall %.3f, precision %.3f, reasons named %.3f" % (
        n, sum(a[1] for a in kinds.values()) / n, hits / max(reviewed, 1),
        sum(a[2] for a in kinds.values()) / n))
    print("at most %.3f of the incidents can be caught with this budget (days with more incident"
          " cases than reviews)" % (reachable / max(n, 1)))
    print("per kind: " + ", ".join("%s %d/%d" % (k, a[1], a[0]) for k, a in sorted(kinds.items())))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "row":
        row(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "pool":
        pool(sys.argv[2])
    else:
        sys.exit(__doc__)

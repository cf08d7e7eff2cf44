#!/usr/bin/env python3
"""Summarize a wstest fuzzingclient report (reports/servers/index.json) in a few lines.

usage: summarize.py INDEX_JSON [--expected N]

Prints the behaviour counts per case group, the close-behaviour counts, and every case whose
behaviour is not OK/INFORMATIONAL (or whose close behaviour is not OK/INFORMATIONAL), grouped
by (behaviour, close behaviour).

Exit status 1 when any case is FAILED or NON-STRICT (or has another behaviour wstest may
emit), when a close behaviour is FAILED, UNCLEAN or WRONG CODE, when fewer cases ran than
--expected, or, when the report holds compression cases (12.*, 13.*), when any case is
UNIMPLEMENTED. Exit status 2 when the report is missing or unreadable; 0 otherwise.
"""

import argparse
import json
import sys
import textwrap
from collections import Counter, defaultdict

BEHAVIOURS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
FINE = {"OK", "INFORMATIONAL"}
BAD_CLOSE = {"FAILED", "UNCLEAN", "WRONG CODE"}
COMPRESSION_GROUPS = {12, 13}


def case_key(case_id):
    return tuple(int(p) if p.isdigit() else 0 for p in case_id.split("."))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index")
    ap.add_argument("--expected", type=int, help="number of cases the spec selected")
    args = ap.parse_args()

    try:
        with open(args.index) as f:
            report = json.load(f)
        ((agent, cases),) = report.items()
    except (OSError, ValueError) as e:
        print("autobahn: no usable report %s (%s)" % (args.index, e), file=sys.stderr)
        return 2

    ids = sorted(cases, key=case_key)
    groups = sorted({case_key(c)[0] for c in ids})
    by_group = defaultdict(Counter)
    close = Counter()
    listed = defaultdict(list)
    for cid in ids:
        beh = cases[cid].get("behavior", "?")
        cls = cases[cid].get("behaviorClose", "?")
        by_group[case_key(cid)[0]][beh] += 1
        close[cls] += 1
        if beh not in FINE or cls not in FINE:
            listed[(beh, cls)].append(cid)
    total = Counter()
    for cnt in by_group.values():
        total.update(cnt)
    rows = BEHAVIOURS + sorted(set(total) - set(BEHAVIOURS))

    compression = bool(COMPRESSION_GROUPS & set(groups))
    bad = {"FAILED", "NON-STRICT"} | set(rows) - set(BEHAVIOURS)
    if compression:
        bad.add("UNIMPLEMENTED")
    problems = ["%d %s" % (total[b], b) for b in rows if b in bad and total[b]]
    problems += ["%d close %s" % (close[c], c) for c in sorted(close) if c in BAD_CLOSE]
    if args.expected is not None and len(ids) < args.expected:
        problems.append("only %d of %d selected cases ran" % (len(ids), args.expected))

    ran = "%d cases" % len(ids)
    if args.expected is not None:
        ran = "%d/%d cases ran" % (len(ids), args.expected)
    print("autobahn: agent %s, %s; behaviour per case group:" % (agent, ran))
    width = max(len(r) for r in rows) + 1
    print("%-*s" % (width, "") + "".join("%5d" % g for g in groups) + "%6s" % "all")
    for beh in rows:
        cells = [by_group[g][beh] for g in groups] + [total[beh]]
        print("%-*s" % (width, beh) + "".join("%5s" % (n or ".") for n in cells[:-1])
              + "%6s" % (cells[-1] or "."))
    print("close behaviour: " + ", ".join("%s %d" % kv for kv in sorted(close.items())))
    for (beh, cls), cids in sorted(listed.items(), key=lambda kv: case_key(kv[1][0])):
        print(textwrap.fill(" ".join(cids), width=100, break_on_hyphens=False,
                            initial_indent="%s (close %s): " % (beh, cls), subsequent_indent="    "))
    if problems:
        print("autobahn: FAIL: " + ", ".join(problems))
        return 1
    print("autobahn: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

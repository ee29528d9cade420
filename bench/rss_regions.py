#!/usr/bin/env python3
"""Where a process's resident memory grows, mapping by mapping.

  rss_regions.py sample PID PERIOD_S OUT.jsonl   # until PID ends
  rss_regions.py diff OUT.jsonl [--from-s 60]    # first sample at or after
                                                 # --from-s against the last

`sample` writes one line per PERIOD_S seconds: every mapping of
/proc/PID/smaps with its resident and anonymous KiB. `diff` groups the
mappings (the main heap, glibc's thread arenas, thread stacks, other
anonymous memory, mapped files) and prints each group's growth, then the
mappings that grew most. A thread arena is an anonymous mapping at a 64 MiB
boundary (glibc reserves each arena's heap at such a boundary).
"""
import argparse
import json
import time

FIELDS = ("Rss", "Anonymous")


def read_smaps(pid):
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and "-" in parts[0] and ":" in parts[3]:
                lo, hi = parts[0].split("-")
                cur = {"lo": lo, "size_kb": (int(hi, 16) - int(lo, 16)) // 1024,
                       "perm": parts[1], "name": parts[5] if len(parts) > 5 else ""}
                maps.append(cur)
            elif cur is not None and parts[0][:-1] in FIELDS:
                cur[parts[0][:-1]] = int(parts[1])
    return maps


def sample(pid, period, out):
    t0 = time.monotonic()
    with open(out, "w") as f:
        while True:
            try:
                maps = read_smaps(pid)
            except (FileNotFoundError, ProcessLookupError):
                return
            f.write(json.dumps({"t": round(time.monotonic() - t0, 1), "maps": maps}) + "\n")
            f.flush()
            time.sleep(period)


def kind(m):
    if m["name"] == "[heap]":
        return "main arena ([heap])"
    if m["name"].startswith("["):
        return m["name"]
    if m["name"]:
        return "mapped files"
    if int(m["lo"], 16) % (64 << 20) == 0:
        return "thread arenas"
    if m["size_kb"] in range(8184, 8201):
        return "thread stacks"
    return "other anonymous"


def groups(s):
    g = {}
    for m in s["maps"]:
        x = g.setdefault(kind(m), {"rss": 0, "n": 0})
        x["rss"] += m.get("Rss", 0)
        x["n"] += 1
    return g


def diff(path, from_s):
    samples = [json.loads(line) for line in open(path)]
    a = next((s for s in samples if s["t"] >= from_s), samples[0])
    b = samples[-1]
    ga, gb = groups(a), groups(b)
    print(f"resident KiB at t={a['t']:.0f} s -> t={b['t']:.0f} s")
    total = 0
    for k in sorted(set(ga) | set(gb)):
        x = ga.get(k, {"rss": 0, "n": 0})
        y = gb.get(k, {"rss": 0, "n": 0})
        total += y["rss"] - x["rss"]
        print(f"  {k:22s} {x['rss']:7d} -> {y['rss']:7d} ({y['rss'] - x['rss']:+6d})"
              f"  mappings {x['n']} -> {y['n']}")
    print(f"  {'all':22s} {sum(x['rss'] for x in ga.values()):7d} -> "
          f"{sum(y['rss'] for y in gb.values()):7d} ({total:+6d})")
    before = {(m["lo"], m["name"]): m for m in a["maps"]}
    grew = []
    for m in b["maps"]:
        o = before.get((m["lo"], m["name"]), {})
        d = m.get("Rss", 0) - o.get("Rss", 0)
        if d:
            grew.append((d, m["lo"], kind(m), m["name"], o.get("Rss", 0), m.get("Rss", 0)))
    print("grew most:")
    for d, lo, k, name, x, y in sorted(grew, reverse=True)[:8]:
        print(f"  {lo} {k:16s} {x:6d} -> {y:6d} ({d:+6d}) {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("pid", type=int)
    s.add_argument("period", type=float)
    s.add_argument("out")
    d = sub.add_parser("diff")
    d.add_argument("file")
    d.add_argument("--from-s", type=float, default=60)
    a = ap.parse_args()
    if a.cmd == "sample":
        sample(a.pid, a.period, a.out)
    else:
        diff(a.file, a.from_s)


if __name__ == "__main__":
    main()

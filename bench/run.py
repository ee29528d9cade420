#!/usr/bin/env python3
"""Runs every Grace benchmark, then the other supervisors side by side, and
writes one report: a table for people (summary.md, also printed), JSON for
scripts (summary.json, with every sample) and a chart of the latency
distributions (chart.html, self-contained SVG).

    python3 bench/run.py [--build build-bench] [--out DIR] [--smoke]
                         [--peers LIST | --no-peers]

`make bench` builds build-bench/ and runs this. --smoke runs every program a
few times only (a correctness check for CI: each must run, measure and
produce its JSON; no figure is judged). Python 3 standard library only.
"""

import argparse
import datetime
import glob
import html
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# bench-peers: next to the checkout unless $BENCH_PEERS_DIR or --peers-dir
# says otherwise.
PEERS_DIR = os.environ.get("BENCH_PEERS_DIR") or os.path.normpath(
    os.path.join(ROOT, "..", "shared", "bench-peers"))
# The supervisors compared with Grace (bench-peers' names), fastest-restart
# configurations chosen by the harness itself.
PEERS = "floor,grace,supervisord,runit,s6,daemontools,pm2,otp-port"
PEER_TOOLS = {"supervisord": "supervisord", "runit": "runsvdir", "s6": "s6-svscan",
              "daemontools": "svscan", "otp-port": "erl"}


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def steps(b, out, smoke):
    """The benchmark programs: (name, argv). Each writes out/NAME.json."""
    bench = os.path.join(b, "bench")
    grace = os.path.join(b, "grace")
    child = os.path.join(bench, "bench_child")
    crashy = os.path.join(b, "tests", "crashy_child")
    small = smoke
    return [
        ("config_load", [f"{bench}/config_load_bench", *(["--runs", "1"] if small else [])]),
        ("restart_latency", [f"{bench}/restart_latency_bench", "--grace", grace,
                             "--floor", f"{bench}/floor_supervisor", "--child", child,
                             "--modes", "isolated,crashloop,tcp,notify", "--without-audit",
                             *(["-n", "3", "--warmup", "1", "--settle-ms", "10"] if small
                               else ["-n", "300"])]),
        ("scale", [f"{bench}/scale_bench", "--grace", grace, "--child", child,
                   *(["--sizes", "5", "--idle-s", "0.3", "--storms", "1", "--kills", "2"] if small
                     else ["--sizes", "10,100,1000", "--idle-s", "10", "--storms", "5"])]),
        ("probe_heal", [f"{bench}/probe_heal_bench", "--grace", grace, "--child", crashy,
                        "-n", "2" if small else "20"]),
        ("port_conflict", [f"{bench}/port_conflict_bench", "--grace", grace, "--child", crashy,
                           "-n", "2" if small else "50"]),
        ("restart_containment", [f"{bench}/restart_latency_bench", "--grace", grace,
                                 "--floor", f"{bench}/floor_supervisor", "--child", child,
                                 "--modes", "isolated,notify", "--without-cgroups",
                                 *(["-n", "3", "--warmup", "1", "--settle-ms", "10"] if small
                                   else ["-n", "300"])]),
        ("containment", [f"{bench}/containment_bench", "--grace", grace, "--child", crashy,
                         "-n", "2" if small else "20"]),
        ("cluster", [f"{bench}/cluster_bench", "--grace", grace, "--child", crashy,
                     *(["-n", "2", "--idle-s", "0.5"] if small else ["-n", "30", "--idle-s", "10"])]),
        ("soak", [f"{bench}/soak_bench", "--grace", grace, "--child", crashy,
                  *(["-n", "10", "--minutes", "0.1", "--sample-s", "1"] if small
                    else ["-n", "200", "--minutes", "10", "--sample-s", "10"])]),
        ("audit", [f"{bench}/audit_bench", "--grace", grace, "--dir", out,
                   *(["-n", "200", "--lines", "2000", "--runs", "1"] if small else [])]),
    ]


def run_step(name, argv, out):
    """Runs one program; its table goes to the terminal and to NAME.txt."""
    js = os.path.join(out, f"{name}.json")
    log(" ".join(os.path.relpath(a) if os.path.exists(a) else a for a in argv))
    t0 = time.monotonic()
    with open(os.path.join(out, f"{name}.txt"), "w") as txt:
        p = subprocess.Popen(argv + ["--json", js], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        for line in p.stdout:
            sys.stdout.write(line)
            txt.write(line)
        rc = p.wait()
    log(f"{name}: exit {rc} after {time.monotonic() - t0:.0f} s")
    if rc != 0 or not os.path.exists(js):
        return None, f"{name}: exit status {rc}"
    try:
        with open(js) as f:
            return json.load(f), None
    except ValueError as e:
        return None, f"{name}: unreadable JSON ({e})"


def run_peers(b, out, peers, smoke, work, peers_dir):
    """bench-peers with Grace as one peer, in this run; returns its JSON."""
    script = os.path.join(peers_dir, "bench.py")
    if not os.path.exists(script):
        if smoke:  # a check of this project's programs: nothing to check
            log(f"peers: {script} not found: skipped")
            return None, None
        return None, f"peers: {script} not found (--peers-dir or $BENCH_PEERS_DIR)"
    env = dict(os.environ, BENCH_PEERS_WORK=work,
               GRACE_BIN=os.path.abspath(os.path.join(b, "grace")))
    os.makedirs(work, exist_ok=True)
    names = peers.split(",")
    missing = [n for n in names if n in PEER_TOOLS and not shutil.which(PEER_TOOLS[n])]
    if "pm2" in names and not glob.glob(os.path.join(work, ".deps", "node_modules", "pm2")):
        missing.append("pm2")
    if missing:
        if os.geteuid() != 0:
            return None, f"peers: {', '.join(missing)} not installed and not root to install them"
        log(f"peers: installing {', '.join(missing)} (bench.py setup)")
        subprocess.run([sys.executable, script, "setup"], env=env, check=False)
    r = subprocess.run([sys.executable, script, "build"], env=env)
    if r.returncode != 0:
        return None, "peers: bench.py build failed"
    dest = os.path.join(out, "peers")
    argv = [sys.executable, script, "run", "--peers", peers, "--out", dest]
    argv += (["-n", "2", "--crashloop-n", "2", "--warmup", "1", "--settle", "0.1"] if smoke
             else ["-n", "100", "--crashloop-n", "20"])
    log(" ".join(argv[1:]))
    with open(os.path.join(out, "peers.txt"), "w") as txt:
        p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        for line in p.stdout:
            sys.stdout.write(line)
            txt.write(line)
        rc = p.wait()
    runs = sorted(glob.glob(os.path.join(dest, "run-*.json")))
    if rc != 0 or not runs:
        return None, f"peers: bench.py run exit status {rc}"
    with open(runs[-1]) as f:
        return json.load(f), None


# -- reading the results -------------------------------------------------------

def case(data, name):
    for x in data or []:
        if isinstance(x, dict) and x.get("case") == name:
            return x
    return None


def scale_row(data, n, probes):
    for x in data or []:
        if x.get("case") == "scale" and x.get("children") == n and x.get("probes") == probes:
            return x
    return None


def peer_stats(peers, mode, name):
    """(p50 us, p99 us, samples in s) of a peer's kill -> running."""
    r = ((peers or {}).get("results", {}).get(mode, {}).get("peers", {}).get(name) or {})
    s = r.get("start")
    if not s:
        return None
    return s, [v / 1e9 for v in r.get("start_ns", [])]


def targets(res):
    """Each target of the issue with what this run measured."""
    out = []

    def add(what, ok, measured):
        out.append({"target": what, "met": ok, "measured": measured})

    rl = res.get("restart_latency")
    g, f = case(rl, "grace isolated running"), case(rl, "floor isolated running")
    if g and f:
        add("crash->running p50 <= 1.15x the floor", g["p50"] / f["p50"] <= 1.15,
            f"{g['p50'] / f['p50']:.2f}x ({g['p50'] * 1e3:.3f} vs {f['p50'] * 1e3:.3f} ms)")
        add("crash->running p99 <= 5 ms", g["p99"] <= 0.005, f"{g['p99'] * 1e3:.2f} ms")
    g, f = case(rl, "grace crashloop running"), case(rl, "floor crashloop running")
    if g and f:
        add("crash loop: first restarts as fast (p50 <= 1.15x the floor)",
            g["p50"] / f["p50"] <= 1.15,
            f"{g['p50'] / f['p50']:.2f}x ({g['p50'] * 1e3:.3f} vs {f['p50'] * 1e3:.3f} ms)")
    cl = res.get("cluster")
    fo = case(cl, "kill -9 of db's node -> db started on another node")
    if fo:
        add("cluster failover p50 <= down_after + 0.2 s (1.2 s)", fo["p50"] <= 1.2,
            f"p50 {fo['p50']:.3f} s, p99 {fo['p99']:.3f} s over {fo['n']} kills")
    idle_cpu = case(cl, "idle: CPU % of a core per node")
    if idle_cpu:
        add("cluster idle: CPU <= 0.5 % of a core per node", idle_cpu["max"] <= 0.5,
            f"max {idle_cpu['max']:.2f} % of 3 nodes")
    pc = case(res.get("port_conflict"), "port_in_use: incident MTTR")
    if pc:
        add("port-conflict MTTR p50 <= 10 ms", pc["p50"] <= 0.010, f"{pc['p50'] * 1e3:.2f} ms")
    st = case(res.get("scale"), "storm N=1000 all ready")
    if st:
        add("restart storm of 1000: all ready again <= 2 s", st["max"] <= 2.0,
            f"max {st['max']:.2f} s of {st['n']} storms (p50 {st['p50']:.2f} s)")
    idle = scale_row(res.get("scale"), 1000, "none")
    if idle:
        add("idle, 1000 children, no probes: CPU < 1% of a core",
            idle["idle_cpu_percent"] < 1.0, f"{idle['idle_cpu_percent']:.2f} %")
        add("idle, 1000 children, no probes: RSS <= 100 MB", idle["rss_mb"] <= 100,
            f"{idle['rss_mb']:.1f} MiB")
    peers = res.get("peers")
    gs = peer_stats(peers, "isolated", "grace")
    if gs:
        others = []
        for name in PEERS.split(","):
            if name in ("grace", "floor"):
                continue
            ps = peer_stats(peers, "isolated", name)
            if ps:
                others.append((name, ps[0]["p50"]))
        if others:
            slower = [n for n, p in others if p <= gs[0]["p50"]]
            add("faster than every peer at p50 (kill -> running)", not slower,
                "peer p50 / grace p50: "
                + ", ".join(f"{n} {p / gs[0]['p50']:.2f}" for n, p in others)
                + (f"; not faster than {', '.join(slower)}" if slower else ""))
    return out


# -- the report ------------------------------------------------------------------

def ms(x):
    return f"{x * 1e3:.3f}"


def latency_table(rows):
    lines = ["| case | n | min ms | p50 ms | p90 ms | p99 ms | max ms |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    for x in rows:
        lines.append(f"| {x['case']} | {x['n']} | {ms(x['min'])} | {ms(x['p50'])} | "
                     f"{ms(x['p90'])} | {ms(x['p99'])} | {ms(x['max'])} |")
    return lines


def markdown(summary):
    res = summary["results"]
    m = summary["machine"]
    out = [f"# Grace benchmarks, {summary['date']}", "",
           f"Command: `{summary['command']}`  ",
           f"Machine: {m['cpus']} x {m['cpu_model']}, {m['mem_gib']} GiB, "
           f"Linux {m['kernel']}, {m['os']}", ""]
    if summary["smoke"]:
        out += ["**Smoke run** (a few samples each): it checks that every benchmark runs; "
                "its figures mean nothing.", ""]
    if summary["errors"]:
        out += ["Errors:", ""] + [f"- {e}" for e in summary["errors"]] + [""]
    out += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for t in summary["targets"]:
        out.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
    for name, title in (("restart_latency", "Kill -> running / ready (grace and the floor, "
                                            "kills alternating)"),
                        ("probe_heal", "Probe failure -> resolved"),
                        ("port_conflict", "Port conflict (stale instance) -> resolved"),
                        ("config_load", "Config loading"),
                        ("audit", "Audit log")):
        rows = [x for x in res.get(name) or [] if "p50" in x]
        if rows:
            out += ["", f"## {title}", ""] + latency_table(rows)
    sc = res.get("scale")
    if sc:
        out += ["", "## Scale: startup, idle cost, restart storm", "",
                "| children | probes | startup (all running) ms | all listening ms | "
                "idle CPU % of a core | RSS MiB | threads |",
                "|--:|---|--:|--:|--:|--:|--:|"]
        for x in sc:
            if x.get("case") == "scale":
                out.append(f"| {x['children']} | {x['probes']} | "
                           f"{x['startup_running_s'] * 1e3:.1f} | {x['startup_ready_s'] * 1e3:.1f} | "
                           f"{x['idle_cpu_percent']:.2f} | {x['rss_mb']:.1f} | {x['threads']} |")
        rows = [x for x in sc if "p50" in x]
        if rows:
            out += ["", "Restart storm (every child SIGKILLed at once -> listening again) and "
                    "one crash among N siblings (kill -> running):", ""]
            out += latency_table(rows)
    soak = case(res.get("soak"), "soak")
    if soak:
        out += ["", f"## Soak: {soak['children']} children crash-looping for "
                f"{soak['minutes']:g} min", "",
                "| measure | first | last | max | slope per hour (after "
                f"{soak['slope_from_s']:.0f} s) | the same, second half"
                + (f" (after {soak['second_half_from_s']:.0f} s)"
                   if "second_half_from_s" in soak else "") + " |",
                "|---|--:|--:|--:|--:|--:|"]
        for m in soak.get("measures", []):
            half = m.get("second_half_slope_per_hour")  # not in older results
            half = "-" if half is None else f"{half:+.2f}"
            out.append(f"| {m['measure']} | {m['first']:.1f} | {m['last']:.1f} | "
                       f"{m['max']:.1f} | {m['slope_per_hour']:+.2f} | {half} |")
        out += ["", f"{soak['restarts']:.0f} restarts, grace CPU {soak['cpu_s']:.1f} s: "
                f"{soak['cpu_per_restart_ms']:.3f} ms per restart. {soak['events']} events "
                f"streamed; {soak['status_polls']} status polls, {soak['status_failures']} "
                f"failed, {soak.get('status_incomplete', 0)} incomplete. Audit log: {soak['log_lines']} lines, {soak['log_unreadable']} "
                f"unreadable, {soak['incidents']} incidents, {soak['incidents_open']} left "
                f"open; grace exited {soak['exit_status']}."]
        rows = [x for x in res.get("soak") or [] if "p50" in x]
        if rows:
            out += [""] + latency_table(rows)
    peers = res.get("peers")
    if peers:
        out += ["", "## Side by side (bench-peers, one run, child up 1.1 s before each kill)", "",
                "| peer | mode | n | p50 us | p90 us | p99 us | p50 / floor |",
                "|---|---|--:|--:|--:|--:|--:|"]
        for mode in ("isolated", "crashloop"):
            fl = peer_stats(peers, mode, "floor")
            for name in PEERS.split(","):
                ps = peer_stats(peers, mode, name)
                if not ps:
                    continue
                s = ps[0]
                ratio = f"{s['p50'] / fl[0]['p50']:.2f}" if fl else "-"
                out.append(f"| {name} | {mode} | {s['n']} | {s['p50']:,.0f} | {s['p90']:,.0f} | "
                           f"{s['p99']:,.0f} | {ratio} |")
    return "\n".join(out) + "\n"


COLOURS = ["#1b6ac9", "#d1495b", "#2e933c", "#edae49", "#7b4b94", "#00798c", "#6c757d",
           "#c45ab3", "#8c564b", "#17becf"]


def duration(t):
    if t >= 1:
        return f"{t:.3g} s"
    if t >= 0.01:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e3:.2f} ms"


def legend_entry(x0, top, i, colour, label):
    """The `i`th line of a chart's legend, right of the plot ending at x0."""
    ly = top + 8 + i * 18
    return [f'<line x1="{x0 + 12}" y1="{ly}" x2="{x0 + 30}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="3"/>',
            f'<text x="{x0 + 35}" y="{ly + 4}">{html.escape(label)}</text>']


def cdf_svg(title, series, width=900, height=330):
    """A cumulative distribution chart (log time axis) of named samples (s)."""
    series = [(n, sorted(v)) for n, v in series if v]
    if not series:
        return ""
    lo = min(v[0] for _, v in series)
    hi = max(v[-1] for _, v in series)
    lo = 10 ** math.floor(math.log10(max(lo, 1e-6)))
    hi = 10 ** math.ceil(math.log10(max(hi, lo * 10)))
    left, right, top, bottom = 60, 330, 34, 40
    pw, ph = width - left - right, height - top - bottom

    def x(t):
        return left + (math.log10(max(t, lo)) - math.log10(lo)) / (
            math.log10(hi) - math.log10(lo)) * pw

    def y(q):
        return top + (1 - q) * ph

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="sans-serif" font-size="12">',
         f'<text x="{left}" y="20" font-size="14" font-weight="bold">{html.escape(title)}</text>']
    d = lo
    while d <= hi * 1.0001:
        for k in (1, 2, 5):
            t = d * k
            if t > hi * 1.0001:
                break
            xx = x(t)
            s.append(f'<line x1="{xx:.1f}" y1="{top}" x2="{xx:.1f}" y2="{top + ph}" '
                     f'stroke="#ddd"/>')
            if k == 1 or (k == 5 and hi / lo <= 1000):
                label = f"{t * 1e3:g} ms" if t < 1 else f"{t:g} s"
                s.append(f'<text x="{xx:.1f}" y="{top + ph + 16}" text-anchor="middle" '
                         f'fill="#555">{label}</text>')
        d *= 10
    for q in (0, 0.25, 0.5, 0.75, 0.9, 1):
        yy = y(q)
        s.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{left + pw}" y2="{yy:.1f}" '
                 f'stroke="#ddd"/>')
        s.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#555">'
                 f'p{q * 100:g}</text>')
    s.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
             f'stroke="#888"/>')
    for i, (name, v) in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        pts = [f"{x(v[0]):.1f},{y(0):.1f}"]
        step = max(1, len(v) // 400)  # at most ~400 steps per line
        for k in list(range(0, len(v), step)) + [len(v) - 1]:
            pts.append(f"{x(v[k]):.1f},{y(k / len(v)):.1f}")
            pts.append(f"{x(v[k]):.1f},{y((k + 1) / len(v)):.1f}")
        s.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" '
                 f'points="{" ".join(pts)}"/>')
        p50 = v[min(len(v) - 1, max(0, math.ceil(len(v) * 0.5) - 1))]
        s += legend_entry(left + pw, top, i, c, f"{name} ({duration(p50)})")
    s.append(f'<text x="{left + pw / 2}" y="{height - 4}" text-anchor="middle" fill="#555">'
             f'time (log scale); legend: p50</text>')
    s.append("</svg>")
    return "\n".join(s)


def series_svg(title, t, lines, unit, width=900, height=260):
    """A line chart of named series `lines` [(name, values)] over times `t`
    (seconds), from zero up."""
    if not t or not lines:
        return ""
    left, right, top, bottom = 60, 200, 34, 40
    pw, ph = width - left - right, height - top - bottom
    t_hi = max(t[-1], 1e-9)
    y_hi = max(max(v) for _, v in lines) * 1.15 or 1

    def x(v):
        return left + v / t_hi * pw

    def y(v):
        return top + (1 - v / y_hi) * ph

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="sans-serif" font-size="12">',
         f'<text x="{left}" y="20" font-size="14" font-weight="bold">{html.escape(title)}</text>',
         f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>']
    for k in range(5):
        v = y_hi * k / 4
        s.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + pw}" y2="{y(v):.1f}" '
                 f'stroke="#ddd"/>')
        s.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#555">'
                 f'{v:.4g}</text>')
    for k in range(6):
        v = t_hi * k / 5
        s.append(f'<text x="{x(v):.1f}" y="{top + ph + 16}" text-anchor="middle" '
                 f'fill="#555">{v:.0f} s</text>')
    for i, (name, v) in enumerate(lines):
        c = COLOURS[i % len(COLOURS)]
        pts = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in zip(t, v))
        s.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{pts}"/>')
        s += legend_entry(left + pw, top, i, c, name)
    s.append(f'<text x="{left + pw / 2}" y="{height - 4}" text-anchor="middle" fill="#555">'
             f'{html.escape(unit)} over the soak</text>')
    s.append("</svg>")
    return "\n".join(s)


def soak_charts(res):
    sr = case(res.get("soak"), "soak series")
    if not sr:
        return []
    t = sr.get("t", [])
    return [series_svg("Soak: grace's resident set", t, [("RSS MiB", sr.get("rss_mb", []))],
                       "MiB"),
            series_svg("Soak: grace's descriptors and threads", t,
                       [("open descriptors", sr.get("fds", [])),
                        ("threads x 100", [v * 100 for v in sr.get("threads", [])])],
                       "count"),
            series_svg("Soak: restarts so far", t, [("restarts", sr.get("restarts", []))],
                       "restarts")]


def samples(data, name):
    x = case(data, name)
    return x.get("samples", []) if x else []


def chart(summary):
    res = summary["results"]
    rl = res.get("restart_latency")
    charts = [
        ("Kill -> running, one crash (child up 100 ms)",
         [(n, samples(rl, f"{n} isolated running")) for n in ("floor", "grace", "grace-noaudit")]),
        ("Kill -> running, crash loop (killed as soon as it runs)",
         [(n, samples(rl, f"{n} crashloop running")) for n in ("floor", "grace", "grace-noaudit")]),
        ("Kill -> ready: ready: {tcp} and ready: {notify}",
         [("floor: child listening", samples(rl, "floor tcp ready")),
          ("grace tcp: child listening", samples(rl, "grace tcp ready")),
          ("grace tcp: grace reports ready", samples(rl, "grace tcp known ready")),
          ("grace notify: READY=1 sent", samples(rl, "grace notify ready")),
          ("grace notify: grace reports ready", samples(rl, "grace notify known ready"))]),
        ("Healing: probe failure and port conflict (incident MTTR)",
         [("http probe", samples(res.get("probe_heal"), "http: incident MTTR")),
          ("heartbeat", samples(res.get("probe_heal"), "heartbeat: incident MTTR")),
          ("port conflict", samples(res.get("port_conflict"), "port_in_use: incident MTTR"))]),
        ("One crash among N siblings: kill -> running",
         [(x["case"].replace(" running", ""), x.get("samples", []))
          for x in res.get("scale") or [] if x.get("case", "").startswith("one of")]),
        ("Restart storm: each child, kill -> listening again",
         [(x["case"].replace(" each ready", ""), x.get("samples", []))
          for x in res.get("scale") or [] if x.get("case", "").endswith("each ready")]),
    ]
    peers = res.get("peers")
    for mode, title in (("isolated", "Side by side: kill -> running, one crash (child up 1.1 s)"),
                        ("crashloop", "Side by side: kill -> running, crash loop")):
        series = []
        for name in PEERS.split(","):
            ps = peer_stats(peers, mode, name)
            if ps:
                series.append((name, ps[1]))
        charts.append((title, series))
    body = [cdf_svg(t, s) for t, s in charts] + soak_charts(res)
    m = summary["machine"]
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Grace benchmarks</title>"
            "<style>body{font-family:sans-serif;max-width:800px;margin:2em auto}</style>"
            "</head><body>"
            f"<h1>Grace benchmarks, {html.escape(summary['date'])}</h1>"
            f"<p>{html.escape(summary['command'])}<br>{m['cpus']} x "
            f"{html.escape(m['cpu_model'])}, Linux {html.escape(m['kernel'])}</p>"
            "<p>Each line is a cumulative distribution: how many of the samples "
            "(vertical) took at most that long (horizontal, log scale). Further left is "
            "faster; a steep line is a steady one.</p>"
            + "\n".join(f"<p>{b}</p>" for b in body if b) + "</body></html>\n")


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    osname = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "mem_gib": round(mem),
            "kernel": platform.release(), "os": osname}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build-bench", help="build tree with -DGRACE_BENCH=ON")
    ap.add_argument("--out", help="where the results go (default BUILD/results/STAMP)")
    ap.add_argument("--smoke", action="store_true", help="a few samples each; check only")
    ap.add_argument("--peers", help=f"bench-peers peers (default {PEERS}; "
                                    "with --smoke floor,grace)")
    ap.add_argument("--no-peers", action="store_true", help="skip the side-by-side run")
    ap.add_argument("--peers-work", help="bench-peers' build and PM2 (default BUILD/peers-work)")
    ap.add_argument("--peers-dir", default=PEERS_DIR, help=f"bench-peers (default {PEERS_DIR})")
    ap.add_argument("--only", help="comma list of steps to run (default: all)")
    a = ap.parse_args()
    b = os.path.abspath(a.build)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.abspath(a.out or os.path.join(b, "results", stamp))
    os.makedirs(out, exist_ok=True)
    only = set(a.only.split(",")) if a.only else None
    res, errors = {}, []
    for name, argv in steps(b, out, a.smoke):
        if only and name not in only:
            continue
        data, err = run_step(name, argv, out)
        res[name] = data
        if err:
            errors.append(err)
    if not a.no_peers and (not only or "peers" in only):
        peers = a.peers or ("floor,grace" if a.smoke else PEERS)
        data, err = run_peers(b, out, peers, a.smoke,
                              os.path.abspath(a.peers_work or os.path.join(b, "peers-work")),
                              a.peers_dir)
        res["peers"] = data
        if err:
            errors.append(err)
    summary = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
               "command": " ".join(["python3", "bench/run.py"] + sys.argv[1:]),
               "smoke": a.smoke, "machine": machine(), "errors": errors, "results": res}
    summary["targets"] = targets(res)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    md = markdown(summary)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "chart.html"), "w") as f:
        f.write(chart(summary))
    print()
    print(md)
    log(f"wrote {out}/summary.md, summary.json, chart.html")
    for e in errors:
        log(f"error: {e}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()

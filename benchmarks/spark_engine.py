"""The Spark engine against the local engine: time and peak memory at 1M and 10M events, and a
standalone cluster (one master, two one-core workers on this machine) running the same job.

Each run is a fresh subprocess on the same Parquet files (``accountgraph.synth`` scenario
``small``, seed 0, scale chosen for the event count). Memory is sampled every 0.2 s over the
run's whole process tree from ``/proc``: the peak RSS of the driver (the Python process), of
the JVM (in ``local[2]`` mode the executors live inside it) and of the Python workers the
executors start (their sum), and the peak of the tree's total. For the local engine the
driver's VmHWM is the peak. Both engines' flagged accounts are compared.

The standalone cluster is started with ``spark-daemon.sh`` from pyspark's ``sbin`` (the
script ``start-master.sh`` / ``start-worker.sh`` wrap; pip's pyspark ships only the former),
bound to 127.0.0.1, and stopped at the end. Tasks per executor come from the application's
REST API (``/api/v1/applications/<id>/allexecutors``) before the session stops. Run under
the shared lock::

    flock /tmp/ag-heavy.lock .venv/bin/python benchmarks/spark_engine.py --sizes 1e6 1e7 --cluster-size 1e6

Results go to ``benchmarks/results/spark_engine.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import _measure  # noqa: E402
from run_benchmarks import git_revision, machine_description  # noqa: E402

EVENTS_PER_SCALE = 204_260  # scenario "small" (benchmarks/results/scaling.md)

_WORKER = r'''
import json, os, sys, threading, time
sys.path.insert(0, {src!r})
engine, data, out, master, opts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
peaks = {{"driver": 0, "jvm": 0, "py_workers": 0, "total": 0}}
stop = False

def tree(root):
    kids = {{}}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                ppid = int(open(f"/proc/{{p}}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            kids.setdefault(ppid, []).append(int(p))
    out, todo = [], [root]
    while todo:
        q = todo.pop()
        out.append(q)
        todo += kids.get(q, [])
    return out

def rss(pid):
    try:
        for line in open(f"/proc/{{pid}}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0

def sample():
    me = os.getpid()
    while not stop:
        jvm = pyw = tot = 0
        for p in tree(me):
            r = rss(p)
            tot += r
            try:
                cmd = open(f"/proc/{{p}}/cmdline").read()
            except OSError:
                continue
            if p == me:
                peaks["driver"] = max(peaks["driver"], r)
            elif "java" in cmd.split("\0")[0]:
                jvm += r
            elif "python" in cmd:
                pyw += r
        peaks["jvm"] = max(peaks["jvm"], jvm)
        peaks["py_workers"] = max(peaks["py_workers"], pyw)
        peaks["total"] = max(peaks["total"], tot)
        time.sleep(0.2)

threading.Thread(target=sample, daemon=True).start()
import accountgraph
ev, ac = os.path.join(data, "events.parquet"), os.path.join(data, "accounts.parquet")
t0 = time.perf_counter()
rest = {{}}
if engine == "local":
    res = accountgraph.detect(ev, ac, seed=0, progress=False, **opts)
    flagged = res.assignments.loc[res.assignments["flagged"], "account_id"].tolist()
    stats = res.stats
else:
    from accountgraph import spark as ags
    from accountgraph.engines.spark import spark_session
    extra = {{"spark.ui.enabled": "true"}}
    s = spark_session(master, shuffle_partitions=int(os.environ.get("BENCH_PARTITIONS", "16")), extra=extra)
    res = ags.detect(ev, ac, seed=0, **opts)
    flagged = [r[0] for r in res.assignments.where("flagged").select("account_id").collect()]
    stats = res.stats
    import urllib.request
    base = s.sparkContext.uiWebUrl + f"/api/v1/applications/{{s.sparkContext.applicationId}}"
    get = lambda path: json.load(urllib.request.urlopen(base + path))
    rest = [{{k: e[k] for k in ("id", "hostPort", "totalCores", "totalTasks", "totalDuration", "maxMemory")}}
            for e in get("/allexecutors")]
    group = {{}}
    for j in get("/jobs"):
        for sid in j.get("stageIds", []):
            group[sid] = j.get("jobGroup", "?")
    shuffle = {{}}
    for st in get("/stages"):
        g = shuffle.setdefault(group.get(st["stageId"], "?"), {{"write": 0, "read": 0, "input": 0, "tasks": 0}})
        g["write"] += st.get("shuffleWriteBytes", 0)
        g["read"] += st.get("shuffleReadBytes", 0)
        g["input"] += st.get("inputBytes", 0)
        g["tasks"] += st.get("numCompleteTasks", 0)
    stats["shuffle"] = shuffle
    s.stop()
wall = time.perf_counter() - t0
stop = True
time.sleep(0.3)
hwm = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        hwm = int(line.split()[1]) * 1024
peaks["driver"] = max(peaks["driver"], hwm)
json.dump({{"wall_s": wall, "peaks": peaks, "flagged": sorted(flagged), "stats": {{k: v for k, v in stats.items()
           if isinstance(v, (int, float, str, dict))}}, "executors": rest}}, open(out, "w"), default=str)
'''


def _run(engine: str, data: Path, out: Path, master: str = "", opts: dict | None = None, env: dict | None = None,
         timeout: float = 7200) -> dict[str, Any]:
    script = out.with_suffix(".py")
    script.write_text(_WORKER.format(src=str(HERE.parent / "src")))
    cmd = [sys.executable, str(script), engine, str(data), str(out), master, json.dumps(opts or {})]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    if p.returncode != 0:
        return {"status": "error", "stderr": p.stderr[-3000:], "process_s": time.perf_counter() - t0}
    rec = json.loads(out.read_text())
    rec.update(status="ok", process_s=time.perf_counter() - t0, load=os.getloadavg()[0])
    return rec


class StandaloneCluster:
    """A master and ``n`` one-core workers on 127.0.0.1, via pyspark's ``sbin/spark-daemon.sh``."""

    def __init__(self, root: Path, n_workers: int = 2, worker_memory: str = "4g") -> None:
        import pyspark

        self.home = Path(pyspark.__file__).parent
        self.daemon = str(self.home / "sbin" / "spark-daemon.sh")
        self.n, self.mem = n_workers, worker_memory
        root.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "SPARK_HOME": str(self.home), "SPARK_LOG_DIR": str(root / "logs"),
                    "SPARK_PID_DIR": str(root / "pids"), "SPARK_LOCAL_IP": "127.0.0.1",
                    "SPARK_WORKER_DIR": str(root / "work"), "PYSPARK_PYTHON": sys.executable}
        self.url = "spark://127.0.0.1:7077"

    def _daemon(self, *args: str) -> None:
        subprocess.run(["bash", self.daemon, *args], env=self.env, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._daemon("start", "org.apache.spark.deploy.master.Master", "1", "--host", "127.0.0.1", "--port", "7077",
                     "--webui-port", "8080")
        time.sleep(5)
        for i in range(1, self.n + 1):
            self._daemon("start", "org.apache.spark.deploy.worker.Worker", str(i), "--host", "127.0.0.1",
                         "--webui-port", str(8080 + i), "--cores", "1", "--memory", self.mem, self.url)
        time.sleep(8)

    def workers(self) -> list[dict[str, Any]]:
        import urllib.request

        state = json.load(urllib.request.urlopen("http://127.0.0.1:8080/json/"))
        return [{"id": w["id"], "cores": w["cores"], "memory": w["memory"], "state": w["state"]} for w in state["workers"]]

    def stop(self) -> None:
        for i in range(1, self.n + 1):
            subprocess.run(["bash", self.daemon, "stop", "org.apache.spark.deploy.worker.Worker", str(i)], env=self.env,
                           capture_output=True, timeout=120)
        subprocess.run(["bash", self.daemon, "stop", "org.apache.spark.deploy.master.Master", "1"], env=self.env,
                       capture_output=True, timeout=120)


def _agreement(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def _mib(x: float) -> str:
    return f"{x / 2**20:,.0f}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7])
    p.add_argument("--cluster-size", type=float, default=1e6, help="events for the standalone-cluster run (0: skip)")
    p.add_argument("--data-root", type=Path, default=Path(tempfile.gettempdir()) / "spark" / "bench")
    p.add_argument("--out", type=Path, default=HERE / "results" / "spark_engine.md")
    p.add_argument("--driver-memory", default="10g", help="local[2]: the JVM holds driver and executors")
    a = p.parse_args(argv)
    work = a.data_root / "runs"
    work.mkdir(parents=True, exist_ok=True)
    rows, cluster = [], None
    for target in a.sizes:
        data, _ = _measure.ensure_dataset("small", a.data_root, seed=0, scale=round(target / EVENTS_PER_SCALE, 1))
        loc = _run("local", data, work / f"local-{target:.0e}.json")
        spk = _run("spark", data, work / f"spark-{target:.0e}.json", "local[2]",
                   env={"ACCOUNTGRAPH_SPARK_DRIVER_MEMORY": a.driver_memory})
        rows.append((target, data, loc, spk))
        print(target, loc.get("wall_s"), spk.get("wall_s"), spk.get("stderr", "")[-500:], flush=True)
    if a.cluster_size:
        data, _ = _measure.ensure_dataset("small", a.data_root, seed=0,
                                          scale=round(a.cluster_size / EVENTS_PER_SCALE, 1))
        cl = StandaloneCluster(a.data_root / "cluster")
        try:
            cl.start()
            workers = cl.workers()
            rec = _run("spark", data, work / "cluster.json", cl.url,
                       env={"ACCOUNTGRAPH_SPARK_EXECUTOR_MEMORY": "3g", "BENCH_PARTITIONS": "4"})
        finally:
            cl.stop()
        loc = next((r[2] for r in rows if r[0] == a.cluster_size), None)
        cluster = (data, workers, rec, loc)
        print("cluster", rec.get("wall_s"), rec.get("stderr", "")[-800:], flush=True)
    _write(a, rows, cluster, argv)


def _shuffle_lines(sh: dict[str, dict[str, int]]) -> list[str]:
    """Per pipeline stage (Spark job group): input read, shuffle written and read, tasks."""
    if not sh:
        return []
    out = ["", "  | stage | input MiB | shuffle write MiB | shuffle read MiB | tasks |", "  |---|---|---|---|---|"]
    for k, v in sorted(sh.items()):
        out.append(f"  | {k.replace('accountgraph:', '')} | {v['input'] / 2**20:,.1f} | {v['write'] / 2**20:,.1f} | "
                   f"{v['read'] / 2**20:,.1f} | {v['tasks']:,} |")
    return out + [""]


def _write(a: argparse.Namespace, rows: list, cluster: Any, argv: list[str] | None) -> None:
    cmd = "flock /tmp/ag-heavy.lock .venv/bin/python benchmarks/spark_engine.py " + " ".join(
        shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
    head = ["events", "engine", "wall s", "peak driver MiB", "peak JVM MiB", "peak Python workers MiB",
            "peak total MiB", "flagged", "agreement", "load"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for target, data, loc, spk in rows:
        n = loc.get("stats", {}).get("n_events_in", int(target))
        for name, r in (("local", loc), ("spark local[2]", spk)):
            if r["status"] != "ok":
                lines.append(f"| {n:,} | {name} | {r['status']}: `{r['stderr'].strip().splitlines()[-1][:150]}` |"
                             + " |" * (len(head) - 3))
                continue
            pk = r["peaks"]
            agree = _agreement(loc["flagged"], spk["flagged"]) if loc["status"] == spk["status"] == "ok" else float("nan")
            lines.append(f"| {n:,} | {name} | {r['wall_s']:.1f} | {_mib(pk['driver'])} | "
                         f"{_mib(pk['jvm']) if name != 'local' else '–'} | "
                         f"{_mib(pk['py_workers']) if name != 'local' else '–'} | {_mib(pk['total'])} | "
                         f"{len(r['flagged']):,} | {agree:.4f} | {r['load']:.1f} |")
        if loc["status"] == spk["status"] == "ok":
            lines.append(f"| | ratio spark / local | {spk['wall_s'] / loc['wall_s']:.1f}x | | | | "
                         f"{spk['peaks']['total'] / max(loc['peaks']['total'], 1):.2f}x | | | |")
    stage = []
    keys = ("n_signals", "n_incidences", "n_hub_signals", "n_pairs", "n_edges", "n_clusters", "n_detached",
            "n_attached", "n_flagged_accounts", "n_flagged_clusters")
    for target, _, loc, spk in rows:
        if loc["status"] == spk["status"] == "ok":
            diff = [k for k in keys if loc["stats"].get(k) != spk["stats"].get(k)]
            stage.append(f"- {target:.0e} events, counts local / Spark: " + ", ".join(
                f"{k} {loc['stats'].get(k)!s} / {spk['stats'].get(k)!s}" for k in keys)
                + (f" (**differ: {', '.join(diff)}**)" if diff else " (all equal)"))
    for target, _, _, spk in rows:
        if spk["status"] == "ok":
            secs = spk["stats"].get("seconds", {})
            stage.append(f"- {target:.0e} events, Spark stage seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in secs.items()))
            stage += _shuffle_lines(spk["stats"].get("shuffle", {}))
    text = [
        "# The Spark engine against the local engine",
        "",
        f"- Command: `{cmd}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; revision {git_revision()}",
        f"- Machine: {machine_description()}; shared with other jobs (load = 1-minute load average after the run).",
        "- Data: `accountgraph.synth` scenario `small`, seed 0, read from Parquet by both engines; one run each, "
        "side by side in one invocation. Spark: pyspark 4.3.0, `local[2]`, 16 shuffle partitions, driver/executor "
        f"JVM heap {a.driver_memory}.",
        "- Memory: RSS sampled every 0.2 s over the process tree. `driver` = the Python process (its VmHWM); `JVM` = "
        "Spark's JVM (in local mode it runs the executors); `Python workers` = the executors' Python processes "
        "(sum); `total` = the whole tree. `agreement` = Jaccard of the flagged account sets (Spark vs local).",
        "",
        *lines,
        "",
        *stage,
        "",
    ]
    if cluster is not None:
        data, workers, rec, loc = cluster
        text += ["## Standalone cluster: a master and two one-core workers on this machine", "",
                 "Started with pyspark's `sbin/spark-daemon.sh` (Master on 127.0.0.1:7077, two Workers with "
                 "`--cores 1 --memory 4g`), the same job submitted with `master=spark://127.0.0.1:7077`, "
                 "4 shuffle partitions, 3 GiB per executor.", "",
                 f"- Workers registered: {json.dumps(workers)}"]
        if rec["status"] == "ok":
            text += _shuffle_lines(rec["stats"].get("shuffle", {}))
            text += [f"- Wall time {rec['wall_s']:.1f} s; peak driver {_mib(rec['peaks']['driver'])} MiB, driver-side "
                     f"JVM {_mib(rec['peaks']['jvm'])} MiB; flagged {len(rec['flagged']):,}"
                     + (f", agreement with local {_agreement(loc['flagged'], rec['flagged']):.4f}" if loc else ""), "",
                     "| executor | host:port | cores | tasks | task time s |", "|---|---|---|---|---|"]
            for e in rec["executors"]:
                text.append(f"| {e['id']} | {e['hostPort']} | {e['totalCores']} | {e['totalTasks']:,} | "
                            f"{e['totalDuration'] / 1000:.0f} |")
        else:
            text.append(f"- failed: `{rec['stderr'][-600:]}`")
        text.append("")
    a.out.write_text("\n".join(text))
    print("wrote", a.out)


if __name__ == "__main__":
    main()

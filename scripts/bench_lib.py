#!/usr/bin/env python3
"""Helpers for scripts/bench.sh, standard library only (python3 as Debian ships it).

  probe PORTS LAUNCH_FILE TIMEOUT_S [WATCH_PIDS [BROKERS]]
      Wait for LAUNCH_FILE (the epoch seconds written just before the first broker's JVM was launched), then
      send ApiVersions v0 and Metadata v1 requests to 127.0.0.1:PORT, for each PORT of the comma-separated
      PORTS at once (one thread each), until the node answers both and its Metadata lists BROKERS brokers
      (default 1); print the seconds from launch to the last node's such answer. An open port is not enough
      (Kafka binds its listener before it serves), nor is an answer from a node that does not know its
      cluster yet: a client can use the node once its Metadata names the brokers. The nodes are probed
      together, not one after another: a probe started once the one before it succeeded would add its own
      start to the figure, on a machine the starting brokers keep busy.
      Gives up early once a process of WATCH_PIDS (comma-separated: the brokers, or their starter) has exited;
      WATCH_PIDS 0 watches nothing.
  rss PID...
      Print VmRSS and VmHWM in MiB (from /proc/PID/status), each summed over the PIDs.
  parse KIND FILE
      Print "metric value" lines from a kafka-tools output file (KIND: producer, consumer, e2e).
  report OUT_DIR
      Read OUT_DIR/results.csv (rep,system,metric,value), write summary.json, summary.txt (the table) and
      plot.svg, and print the table.
"""
import json
import math
import os
import re
import socket
import statistics
import struct
import sys
import threading
import time


def probe(ports, launch_file, timeout_s, watch_pids=(), brokers=1):
    deadline = time.time() + timeout_s

    def gone():
        return any(not os.path.exists("/proc/%d" % pid) for pid in watch_pids)

    while not os.path.exists(launch_file) or os.path.getsize(launch_file) == 0:
        if time.time() > deadline or gone():
            sys.exit("probe: %s never appeared" % launch_file)
        time.sleep(0.002)
    with open(launch_file) as f:
        launched = float(f.read().strip())
    answered = {}
    failed = {}

    def one(port):
        # ApiVersions v0, then Metadata v1 for no topics: request header v1 (api key, version, correlation id,
        # client id); Metadata v1's response starts with its broker array, so its count follows the correlation
        api_versions = struct.pack(">hhih", 18, 0, 1, 5) + b"probe"
        metadata = struct.pack(">hhih", 3, 1, 2, 5) + b"probe" + struct.pack(">i", 0)
        seen = 0
        while time.time() < deadline and not failed:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    if _call(s, api_versions, 1) is None:
                        raise OSError("no ApiVersions answer")
                    while time.time() < deadline:
                        body = _call(s, metadata, 2)
                        if body is None or len(body) < 4:
                            raise OSError("no Metadata answer")
                        seen = struct.unpack(">i", body[:4])[0]
                        if seen >= brokers:
                            answered[port] = time.time()
                            return
                        time.sleep(0.005)
            except OSError:
                if gone():
                    break
            time.sleep(0.005)
        failed[port] = "port %d did not list %d broker(s) in its Metadata (last: %d) (%s)" % (
            port, brokers, seen, "the process exited" if gone() else "within %ss" % timeout_s)

    threads = [threading.Thread(target=one, args=(p,), daemon=True) for p in ports]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed or len(answered) < len(ports):
        sys.exit("probe: " + "; ".join(failed.values() or ["no answer"]))
    print("%.3f" % (max(answered.values()) - launched))


def _call(s, body, correlation):
    """Sends one request and returns the response body after the correlation id (None if it did not match)."""
    s.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", _read(s, 4))[0]
    data = _read(s, size)
    if size < 4 or struct.unpack(">i", data[:4])[0] != correlation:
        return None
    return data[4:]


def _read(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            raise OSError("closed before answering")
        got += chunk
    return got


def rss(pids):
    vals = {}
    for pid in pids:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, kb = line.split()[:2]
                    vals[key[:-1]] = vals.get(key[:-1], 0) + int(kb) / 1024.0
    print("%.1f %.1f" % (vals.get("VmRSS", 0), vals.get("VmHWM", 0)))


NUM = r"([0-9]+(?:\.[0-9]+)?)"


def parse(kind, path):
    text = open(path, errors="replace").read()
    if kind == "producer":
        # "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, a ms 50th, b ms 95th,
        #  c ms 99th, d ms 99.9th."
        # with --warmup-records, a second summary of the steady state follows ("N steady state records
        # sent, ..."): prefer it, and report the total count from the first
        lines = [l for l in text.splitlines() if re.match(r"^\d+ records sent, ", l)]
        steady = [l for l in text.splitlines() if re.match(r"^\d+ steady state records sent, ", l)]
        if not lines:
            sys.exit("parse: no ProducerPerformance summary in %s" % path)
        total = lines[-1].split()[0]
        l = steady[-1].replace(" steady state", "", 1) if steady else lines[-1]
        m = re.match(r"^(\d+) records sent, %s records/sec \(%s MB/sec\), %s ms avg latency, %s ms max latency, "
                     r"(\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th" % (NUM, NUM, NUM, NUM), l)
        if not m:
            sys.exit("parse: unexpected ProducerPerformance summary: %s" % l)
        print("records", total)
        names = ["measured_records", "rps", "mbps", "avg_ms", "max_ms", "p50_ms", "p95_ms", "p99_ms", "p999_ms"]
        for n, v in zip(names, m.groups()):
            print(n, v)
    elif kind == "consumer":
        # a header naming the columns, then one line of values
        cols = None
        values = None
        for l in text.splitlines():
            fields = [f.strip() for f in l.split(",")]
            if fields and fields[0] == "start.time":
                cols = fields
            elif cols and len(fields) == len(cols):
                values = fields
        if not values:
            sys.exit("parse: no ConsumerPerformance result in %s" % path)
        row = dict(zip(cols, values))
        print("records", row["data.consumed.in.nMsg"])
        print("rps", row["fetch.nMsg.sec"])
        print("mbps", row["fetch.MB.sec"])
        print("rebalance_ms", row["rebalance.time.ms"])
    elif kind == "e2erate":
        # scripts/bench/FixedRateEndToEnd.java: "e2e records=N p50_ms=.. p99_ms=.. p999_ms=.. max_ms=.."
        m = re.search(r"^e2e records=(\d+) p50_ms=%s p99_ms=%s p999_ms=%s max_ms=%s" % (NUM, NUM, NUM, NUM), text, re.M)
        if not m:
            sys.exit("parse: no FixedRateEndToEnd result in %s" % path)
        for n, v in zip(["records", "p50_ms", "p99_ms", "p999_ms", "max_ms"], m.groups()):
            print(n, v)
        # the tool's own collections in the measured window (they count as latency): shown, not scored
        gc = re.search(r"client_gc=(\d+) client_gc_ms=(\d+)", text)
        if gc:
            print("client_gc", gc.group(1))
            print("client_gc_ms", gc.group(2))
    elif kind == "ebproduce":
        # scripts/bench/EventBusBench.java produce: "eventbus-produce records=N seconds=S rps=R mbps=M ..."
        m = re.search(r"^eventbus-produce records=(\d+) seconds=%s rps=%s mbps=%s" % (NUM, NUM, NUM), text, re.M)
        if not m:
            sys.exit("parse: no EventBusBench produce result in %s" % path)
        for n, v in zip(["records", "seconds", "rps", "mbps"], m.groups()):
            print(n, v)
    elif kind == "e2e":
        # "Avg latency: 1.2345 ms" and "Percentiles: 50th = 1, 99th = 3, 99.9th = 7" (whole milliseconds)
        avg = re.search(r"Avg latency: %s ms" % NUM, text)
        pct = re.search(r"Percentiles: 50th = (\d+), 99th = (\d+), 99\.9th = (\d+)", text)
        if not avg or not pct:
            sys.exit("parse: no EndToEndLatency result in %s" % path)
        print("avg_ms", avg.group(1))
        print("p50_ms", pct.group(1))
        print("p99_ms", pct.group(2))
        print("p999_ms", pct.group(3))
    elif kind == "txnproduce":
        # scripts/bench/TxnProduce.java: "txn-produce records=N txns=T seconds=S rps=R mbps=M commit_p50_ms=A commit_p99_ms=B"
        m = re.search(r"^txn-produce records=(\d+) txns=(\d+) seconds=%s rps=%s mbps=%s commit_p50_ms=%s commit_p99_ms=%s"
                      % (NUM, NUM, NUM, NUM, NUM), text, re.M)
        if not m:
            sys.exit("parse: no TxnProduce result in %s" % path)
        for n, v in zip(["records", "txns", "seconds", "rps", "mbps", "commit_p50_ms", "commit_p99_ms"], m.groups()):
            print(n, v)
    elif kind == "compactproduce":
        # scripts/bench/CompactProduce.java: "compact-produce records=N seconds=S rps=R mbps=M"
        m = re.search(r"^compact-produce records=(\d+) seconds=%s rps=%s mbps=%s" % (NUM, NUM, NUM), text, re.M)
        if not m:
            sys.exit("parse: no CompactProduce result in %s" % path)
        for n, v in zip(["records", "seconds", "rps", "mbps"], m.groups()):
            print(n, v)
    elif kind in ("cleaner-runnel", "cleaner-kafka"):
        # every cleaning of the broker's log: bytes of log processed (copied from) and the seconds the whole
        # cleaning took (offset map included). Runnel: "Cleaned T-P up to offset O: ... A -> B bytes, R -> W
        # records, M ms"; Kafka: "X MB of log processed in Y seconds (Z MB/sec)."
        if kind == "cleaner-runnel":
            runs = [(float(a) / 1e6, float(ms) / 1000.0) for a, ms in
                    re.findall(r"Cleaned \S+ up to offset \d+: .*?(\d+) -> \d+ bytes, .*? (\d+) ms", text)]
        else:
            runs = [(float(a.replace(",", "")) * 1024 * 1024 / 1e6, float(s.replace(",", ""))) for a, s in
                    re.findall(r"([0-9,.]+) MB of log processed in ([0-9,.]+) seconds", text)]
        if not runs:
            sys.exit("parse: no cleaning in %s" % path)
        mb = sum(r[0] for r in runs)
        secs = sum(r[1] for r in runs)
        print("cleanings", len(runs))
        print("mb", "%.2f" % mb)
        print("seconds", "%.3f" % secs)
        print("mbps", "%.2f" % (mb / secs if secs > 0 else 0))
    else:
        sys.exit("parse: unknown kind %s" % kind)


# metric -> (label, unit, better, target kind, target value)
#   better: "higher" or "lower"; target kinds: "ratio_min", "ratio_max", "abs_max" (Runnel's own value), None
METRICS = [
    ("startup_s", "start-up to ready (empty node)", "s", "lower", "abs_max", 1.0),
    # the users workload's start: the README's command, read from it (issue 18's target)
    ("users_startup_s", "start-up, README command", "s", "lower", "abs_max", 1.0),
    # beside it: the bare java -jar target/runnel.jar, without the class-data archive
    ("users_plain_jar_startup_s", "start-up, bare java -jar (no archive)", "s", "lower", None, None),
    ("produce_acks1_mbps", "produce acks=1", "MB/s", "higher", "ratio_min", 1.3),
    ("produce_acksall_mbps", "produce acks=all", "MB/s", "higher", None, None),
    ("consume_mbps", "consume", "MB/s", "higher", "ratio_min", 1.3),
    # broker utime+stime over the client tool's run, per 10^9 bytes (issue 18: at most half of Kafka's)
    ("produce_acks1_cpu_s_per_gb", "broker CPU per GB: produce acks=1", "s/GB", "lower", "ratio_max", 0.5),
    ("produce_acksall_cpu_s_per_gb", "broker CPU per GB: produce acks=all", "s/GB", "lower", "ratio_max", 0.5),
    ("consume_cpu_s_per_gb", "broker CPU per GB: consume", "s/GB", "lower", "ratio_max", 0.5),
    # transactions of 100 records, acks=all, one producer (bench.sh's txn workload; issue 17's target)
    ("txn_produce_mbps", "produce in transactions of 100 (acks=all)", "MB/s", "higher", "ratio_min", 1.3),
    ("e2e_rate_p50_ms", "end-to-end latency p50 at fixed rate", "ms", "lower", None, None),
    ("e2e_rate_p99_ms", "end-to-end latency p99 at fixed rate", "ms", "lower", "ratio_max", 0.5),
    ("latency_p50_ms", "produce-ack latency p50 at fixed rate", "ms", "lower", None, None),
    ("latency_p99_ms", "produce-ack latency p99 at fixed rate", "ms", "lower", None, None),
    ("e2e_p50_ms", "end-to-end p50, 1 in flight (kafka-tools)", "ms", "lower", None, None),
    ("e2e_p99_ms", "end-to-end p99, 1 in flight (kafka-tools)", "ms", "lower", None, None),
    ("compact_produce_mbps", "produce to a compacted topic while cleaning", "MB/s", "higher", "ratio_min", 1.3),
    ("cleaner_mbps", "log cleaner throughput (dirty log cleaned)", "MB/s", "higher", "ratio_min", 1.0),
    # SASL_SSL listener, SCRAM-SHA-512 (bench.sh's saslssl workload)
    ("sasl_produce_acks1_mbps", "SASL_SSL: produce acks=1", "MB/s", "higher", "ratio_min", 1.3),
    ("sasl_produce_acksall_mbps", "SASL_SSL: produce acks=all", "MB/s", "higher", "ratio_min", 1.3),
    ("sasl_consume_mbps", "SASL_SSL: consume", "MB/s", "higher", "ratio_min", 1.3),
    ("sasl_first_produce_acks1_mbps", "SASL_SSL first pass: produce acks=1", "MB/s", "higher", None, None),
    ("sasl_first_produce_acksall_mbps", "SASL_SSL first pass: produce acks=all", "MB/s", "higher", None, None),
    ("sasl_first_consume_mbps", "SASL_SSL first pass: consume", "MB/s", "higher", None, None),
    ("sasl_produce_acks1_cpu_s_per_gb", "SASL_SSL: CPU per GB, produce acks=1", "s/GB", "lower", None, None),
    ("sasl_produce_acksall_cpu_s_per_gb", "SASL_SSL: CPU per GB, produce acks=all", "s/GB", "lower", None, None),
    ("sasl_consume_cpu_s_per_gb", "SASL_SSL: CPU per GB, consume", "s/GB", "lower", None, None),
    ("rss_idle_mib", "resident memory idle", "MiB", "lower", None, None),
    ("rss_load_mib", "resident memory under load (peak)", "MiB", "lower", "ratio_max", 0.5),
    ("users_rss_idle_mib", "users: resident memory idle", "MiB", "lower", None, None),
    ("users_rss_load_mib", "users: memory under load (peak)", "MiB", "lower", "ratio_max", 0.5),
    # three nodes, RF=3, min.insync.replicas=2 (bench.sh's three-node part); memory summed over the three
    ("cluster_produce_acksall_mbps", "3 nodes: produce acks=all", "MB/s", "higher", "ratio_min", 1.2),
    ("cluster_produce_acksall_cpu_s_per_gb", "3 nodes: broker CPU per GB, acks=all (sum)", "s/GB", "lower", "ratio_max", 0.5),
    ("cluster_txn_produce_mbps", "3 nodes: produce in transactions of 100", "MB/s", "higher", "ratio_min", 1.3),
    ("cluster_e2e_p50_ms", "3 nodes: end-to-end p50 at fixed rate", "ms", "lower", None, None),
    ("cluster_e2e_p99_ms", "3 nodes: end-to-end p99 at fixed rate", "ms", "lower", None, None),
    ("cluster_startup_s", "3 nodes: start-up until all 3 list 3 brokers", "s", "lower", "ratio_max", 0.5),
    ("cluster_topic_ready_s", "3 nodes: until an RF=3 topic is produceable", "s", "lower", None, None),
    ("cluster_rss_idle_mib", "3 nodes: resident memory idle (sum)", "MiB", "lower", None, None),
    ("cluster_rss_load_mib", "3 nodes: resident memory under load (sum)", "MiB", "lower", None, None),
    # metadata (bench.sh --meta-partitions, default 5000): no slower than Kafka
    ("cluster_meta_create_s", "3 nodes: create partitions (RF=3) until all led", "s", "lower", "ratio_max", 1.0),
    ("cluster_failover_s", "3 nodes: kill -9 until its partitions are led elsewhere", "s", "lower", "ratio_max", 1.0),
    ("meta_create_s", "1 node: create partitions until all led", "s", "lower", "ratio_max", 1.0),
    ("meta_restart_s", "1 node: restart until all partitions led", "s", "lower", "ratio_max", 1.0),
]

# bench.sh's eventbus workload: the event bus (system "eventbus") against the Kafka Java clients (system
# "kafkaclients") on the same Runnel node; ratio = event bus / Kafka clients
EB_METRICS = [
    ("eb_produce_binary_acks1_mbps", "produce acks=1, binary batches", "MB/s", "higher", "ratio_min", 0.5),
    ("eb_produce_binary_acksall_mbps", "produce acks=all, binary batches", "MB/s", "higher", "ratio_min", 0.5),
    ("eb_produce_json_acks1_mbps", "produce acks=1, JSON arrays", "MB/s", "higher", "ratio_min", 0.5),
    ("eb_produce_json_acksall_mbps", "produce acks=all, JSON arrays", "MB/s", "higher", "ratio_min", 0.5),
    ("eb_e2e_p50_ms", "end-to-end latency p50 at fixed rate", "ms", "lower", None, None),
    ("eb_e2e_p99_ms", "end-to-end latency p99 at fixed rate", "ms", "lower", "ratio_max", 1.0),
    # the default subscription (one record per delivery, the next after its reply): reported, not the target
    ("eb_e2e_single_p99_ms", "e2e p99, one record per delivery", "ms", "lower", None, None),
]

SHORT = {"eventbus": "event bus", "kafkaclients": "Kafka cli."}

# bench.sh's users workload: users_p<PARTITIONS>_<BATCHING>_<PHASE>_<rps|mbps|cpu_s_per_gb>
USERS_KEY = re.compile(r"^users_p(\d+)_([a-z0-9]+)_(produce_acks1|produce_acksall|consume)_(rps|mbps|cpu_s_per_gb)$")
USERS_BATCHING = {"default": "client defaults", "b64k": "64 KiB, linger 5"}
USERS_PHASE = {"produce_acks1": "produce acks=1", "produce_acksall": "produce acks=all", "consume": "consume"}

# Issue 18's "Done when": (label, the metric keys it applies to, target kind, value). Ratio targets take the
# worst ratio over the keys measured; the start-up target is Runnel's own value.
def _issue18_targets(keys):
    users = sorted(k for k in keys if USERS_KEY.match(k))
    def users_of(phase, unit):
        return [k for k in users if USERS_KEY.match(k).group(3).startswith(phase) and k.endswith("_" + unit)]
    return [
        ("produce >= 1.5x Kafka's", ["produce_acks1_mbps", "produce_acksall_mbps"] + users_of("produce", "mbps"),
         "ratio_min", 1.5),
        ("consume >= 1.5x Kafka's", ["consume_mbps"] + users_of("consume", "mbps"), "ratio_min", 1.5),
        ("broker CPU per GB <= 0.5x Kafka's",
         ["produce_acks1_cpu_s_per_gb", "consume_cpu_s_per_gb", "produce_acksall_cpu_s_per_gb",
          "cluster_produce_acksall_cpu_s_per_gb"] + [k for k in users if k.endswith("_cpu_s_per_gb")],
         "ratio_max", 0.5),
        ("end-to-end p99 at a fixed rate <= 0.5x", ["e2e_rate_p99_ms", "cluster_e2e_p99_ms"], "ratio_max", 0.5),
        ("three nodes, acks=all >= 2x", ["cluster_produce_acksall_mbps"], "ratio_min", 2.0),
        ("resident memory under load <= 0.5x", ["rss_load_mib", "users_rss_load_mib", "cluster_rss_load_mib"],
         "ratio_max", 0.5),
        ("start to ready < 1 s, README command", ["users_startup_s"], "abs_max", 1.0),
    ]


def users_label(key):
    m = USERS_KEY.match(key)
    return "%s p, %s, %s" % (m.group(1), USERS_BATCHING.get(m.group(2), m.group(2)), USERS_PHASE[m.group(3)])


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def target_text(kind, value):
    if kind == "ratio_min":
        return ">= %.1fx" % value
    if kind == "ratio_max":
        return "<= %.1fx" % value
    if kind == "abs_max":
        return "< %g s" % value
    return ""


def report(out):
    rows = []
    with open(os.path.join(out, "results.csv")) as f:
        header = f.readline().strip().split(",")
        for line in f:
            rows.append(dict(zip(header, line.strip().split(","))))
    meta = {}
    meta_path = os.path.join(out, "meta.json")
    if os.path.exists(meta_path):
        meta = json.load(open(meta_path))
    values = {}
    for r in rows:
        values.setdefault((r["metric"], r["system"]), []).append(float(r["value"]))
    summary = {"meta": meta, "metrics": []}
    lines = []
    if meta:
        lines.append("Benchmark: %s" % meta.get("description", ""))
    lines.append("Medians of %s repetition(s), the two systems alternating; ratio = Runnel/Kafka."
                 % meta.get("reps", "?"))
    table(lines, summary, values, METRICS, "runnel", "kafka")
    users_table(lines, summary, values)
    if any(m in {k[0] for k in values} for m, *_ in EB_METRICS):
        lines.append("Event bus against the Kafka Java clients on the same Runnel node (bench.sh workload eventbus):")
        lines.append("ratio = event bus / Kafka clients; produce: ProducerPerformance against EventBusBench batches.")
        table(lines, summary, values, EB_METRICS, "eventbus", "kafkaclients")
    lines.append("End-to-end at fixed rate: scheduled send until the consumer polls it (scripts/bench/FixedRateEndToEnd.java,")
    lines.append("Java clients, microsecond resolution). Produce-ack: ProducerPerformance --throughput, send until acknowledged.")
    lines.append("1 in flight: kafka-tools EndToEndLatency. kafka-tools percentiles are whole milliseconds.")
    lines.append("Per repetition (in repetition order):")
    for m in summary["metrics"]:
        a, b = m["systems"]
        lines.append("  %-44s %s %-28s %s %s" % (
            m["label"], a, " ".join(fmt(v) for v in m[a]["all"]) or "-", b,
            " ".join(fmt(v) for v in m[b]["all"]) or "-"))
    if any(m["metric"].startswith("cluster_") for m in summary["metrics"]):
        lines.append("3 nodes: RF=3, min.insync.replicas=2, clients bootstrap from all three; produceable = start-up +")
        lines.append("CreateTopics until a full ISR and an acks=all record acknowledged on every partition.")
    issue18(lines, summary, values)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(out, "plot.svg"), "w") as f:
        f.write(svg(summary))
    sys.stdout.write(text)


def table(lines, summary, values, metrics, a, b):
    """Appends the table of METRICS, system A against system B (ratio A/B), to LINES and SUMMARY."""
    if not any(values.get((m[0], a)) or values.get((m[0], b)) for m in metrics):
        return
    lines.append("%-44s %5s %10s %10s %8s %10s %6s" % ("metric", "unit", SHORT.get(a, a), SHORT.get(b, b), "ratio", "target", "met"))
    for key, label, unit, better, tkind, tval in metrics:
        rv = values.get((key, a))
        kv = values.get((key, b))
        if not rv and not kv:
            continue
        rmed = statistics.median(rv) if rv else None
        kmed = statistics.median(kv) if kv else None
        ratio = rmed / kmed if rmed is not None and kmed else None
        met = None
        if tkind == "ratio_min" and ratio is not None:
            met = ratio >= tval
        elif tkind == "ratio_max" and ratio is not None:
            met = ratio <= tval
        elif tkind == "abs_max" and rmed is not None:
            met = rmed < tval
        lines.append("%-44s %5s %10s %10s %8s %10s %6s" % (
            label, unit, fmt(rmed), fmt(kmed), "%.2fx" % ratio if ratio is not None else "-",
            target_text(tkind, tval), "-" if met is None else ("yes" if met else "NO")))
        summary["metrics"].append({
            "metric": key, "label": label, "unit": unit, "better": better, "systems": [a, b],
            a: {"median": rmed, "all": rv or []}, b: {"median": kmed, "all": kv or []},
            "ratio": ratio, "target": target_text(tkind, tval) or None,
            "met": met})


def median_of(values, key, system):
    v = values.get((key, system))
    return statistics.median(v) if v else None


def users_table(lines, summary, values):
    """The users workload's matrix: one row per (partitions, batching, phase), records/s, MB/s and broker CPU
    per GB of both systems with their ratios; MB/s and CPU go into SUMMARY (and the plot) like other metrics."""
    rows = []
    for (key, _), _ in values.items():
        m = USERS_KEY.match(key)
        if m and m.group(4) == "mbps":
            row = (int(m.group(1)), list(USERS_BATCHING).index(m.group(2)) if m.group(2) in USERS_BATCHING else 9,
                   list(USERS_PHASE).index(m.group(3)), key[:-len("_mbps")])
            if row not in rows:
                rows.append(row)
    if not rows:
        return
    rows.sort()
    lines.append("Users: nodes started as the README / kafka-server-start.sh start them (bench.sh workload users);")
    lines.append("ratio = Runnel/Kafka; CPU = broker utime+stime over the tool's run per 10^9 bytes.")
    lines.append("%-40s %-19s %-26s %s" % ("", "records/s", "MB/s", "broker CPU s/GB"))
    lines.append("%-40s %9s %9s %9s %9s %6s %7s %7s %6s" % (
        "workload", "runnel", "kafka", "runnel", "kafka", "ratio", "runnel", "kafka", "ratio"))
    for *_, base in rows:
        cells = []
        for unit in ("rps", "mbps", "cpu_s_per_gb"):
            r = median_of(values, base + "_" + unit, "runnel")
            k = median_of(values, base + "_" + unit, "kafka")
            cells.append((r, k, r / k if r is not None and k else None))
        def ratio(c):
            return "%.2fx" % c[2] if c[2] is not None else "-"
        lines.append("%-40s %9s %9s %9s %9s %6s %7s %7s %6s" % (
            users_label(base + "_mbps"), fmt(cells[0][0]), fmt(cells[0][1]), fmt(cells[1][0]), fmt(cells[1][1]),
            ratio(cells[1]), fmt(cells[2][0]), fmt(cells[2][1]), ratio(cells[2])))
        for unit, label, u, better in (("mbps", "", "MB/s", "higher"), ("cpu_s_per_gb", "broker CPU per GB: ", "s/GB", "lower")):
            key = base + "_" + unit
            rv, kv = values.get((key, "runnel")), values.get((key, "kafka"))
            rmed, kmed = median_of(values, key, "runnel"), median_of(values, key, "kafka")
            summary["metrics"].append({
                "metric": key, "label": "users " + label + users_label(base + "_mbps"), "unit": u, "better": better,
                "systems": ["runnel", "kafka"], "runnel": {"median": rmed, "all": rv or []},
                "kafka": {"median": kmed, "all": kv or []},
                "ratio": rmed / kmed if rmed is not None and kmed else None, "target": None, "met": None})


def issue18(lines, summary, values):
    """Issue 18's targets, each with the worst ratio over the workloads it applies to, and met / NOT met."""
    keys = {k for k, _ in values}
    lines.append("Issue 18 targets (worst over the workloads measured; Runnel/Kafka):")
    summary["issue18"] = []
    for label, metric_keys, kind, target in _issue18_targets(keys):
        measured = []
        for key in metric_keys:
            r, k = median_of(values, key, "runnel"), median_of(values, key, "kafka")
            if kind == "abs_max":
                if r is not None:
                    measured.append((key, r, r < target))
            elif r is not None and k:
                ratio = r / k
                measured.append((key, ratio, ratio >= target if kind == "ratio_min" else ratio <= target))
        entry = {"target": label, "workloads": len(measured),
                 "met": bool(measured) and all(m[2] for m in measured)}
        if not measured:
            lines.append("  %-40s not measured" % label)
            entry["met"] = None
        else:
            worst = (min if kind == "ratio_min" else max)(measured, key=lambda m: m[1])
            name = users_label(worst[0]) if USERS_KEY.match(worst[0]) else label_of(worst[0])
            shown = "%.3f s" % worst[1] if kind == "abs_max" else "%.2fx" % worst[1]
            lines.append("  %-40s %-8s %-44s %2d/%-2d %s" % (
                label, shown, "(" + name + ")", sum(1 for m in measured if m[2]), len(measured),
                "met" if entry["met"] else "NOT met"))
            entry.update({"worst": worst[1], "worst_workload": name,
                          "met_count": sum(1 for m in measured if m[2])})
        summary["issue18"].append(entry)


def label_of(key):
    for m in METRICS:
        if m[0] == key:
            return m[1]
    return key


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg(summary):
    """Horizontal bars of the ratio Runnel/Kafka per metric on a log axis, 1x marked, with the target."""
    ms = [m for m in summary["metrics"] if m["ratio"] is not None]
    w, left, right, top, row = 980, 330, 40, 70, 34
    h = top + row * max(1, len(ms)) + 70
    lo, hi = 0.1, 10.0
    plot_w = w - left - right

    def x(r):
        r = min(max(r, lo), hi)
        return left + plot_w * (math.log10(r) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="13">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="24" font-size="16" font-weight="bold">Runnel / Apache Kafka, same machine, '
           'same run (medians)</text>' % 10,
           '<text x="10" y="44" fill="#555">%s</text>' % esc(summary["meta"].get("description", "")),
           '<text x="10" y="60" fill="#555">Bar: Runnel/Kafka (log scale). Green: target met, red: missed, '
           'grey: no target; black tick: the target. Latency, memory, start-up: lower is better.</text>']
    for t in (0.1, 0.2, 0.5, 1, 2, 5, 10):
        xx = x(t)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%s"/>'
                   % (xx, top - 4, xx, top + row * len(ms), "#000" if t == 1 else "#ddd", 1.5 if t == 1 else 1))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%gx</text>'
                   % (xx, top + row * len(ms) + 16, t))
    for i, m in enumerate(ms):
        y = top + i * row
        colour = "#999" if m["met"] is None else ("#2e8b57" if m["met"] else "#c0392b")
        x0, x1 = x(1.0), x(m["ratio"])
        a, b = m["systems"]
        label = m["label"] if a == "runnel" else "event bus/Kafka clients: " + m["label"]
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (left - 8, y + 15, esc(label)))
        out.append('<text x="%d" y="%d" text-anchor="end" fill="#777" font-size="11">%s %s %s, %s %s %s'
                   '</text>' % (left - 8, y + 28, a, fmt(m[a]["median"]), m["unit"], b, fmt(m[b]["median"]),
                                m["unit"]))
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="20" fill="%s"/>'
                   % (min(x0, x1), y + 5, max(abs(x1 - x0), 1), colour))
        label_x = max(x0, x1) + 4
        tm = re.match(r"[<>]= ([0-9.]+)x", m["target"] or "")
        if tm:
            tx = x(float(tm.group(1)))
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="3"/>'
                       % (tx, y + 2, tx, y + 28))
            if tx >= label_x - 4:  # keep the label clear of the target tick
                label_x = tx + 6
        out.append('<text x="%.1f" y="%d" fill="#000">%.2fx</text>' % (label_x, y + 20, m["ratio"]))
    out.append('<text x="10" y="%d" fill="#555">Start-up target is absolute (under 1 s); its bar still shows '
               'the ratio.</text>' % (h - 12))
    out.append("</svg>\n")
    return "\n".join(out)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "probe":
        watch = [int(p) for p in sys.argv[5].split(",") if p != "0"] if len(sys.argv) > 5 else []
        probe([int(p) for p in sys.argv[2].split(",")], sys.argv[3], float(sys.argv[4]), watch,
              int(sys.argv[6]) if len(sys.argv) > 6 else 1)
    elif cmd == "rss":
        rss(sys.argv[2:])
    elif cmd == "parse":
        parse(sys.argv[2], sys.argv[3])
    elif cmd == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

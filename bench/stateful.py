"""The StatefulSet benchmark: an OrderedReady set with claims until Ready, then the resolver.

    python -m bench.stateful            # full run: bench/results/stateful.json
    python -m bench.stateful --short    # 100 replicas: bench/results/stateful-short.json
    python -m bench.stateful --replicas 300 --out /tmp/stateful-300.json

The run is `ControlPlane.open(store="memory://", clock="virtual", nodes=N, seed=0)` with the
shipped controllers, in a fresh subprocess (so the peak RSS is the workload's own); time is
`perf_counter()` wall time, the plane's clock is virtual (timers jump).

- (a) `create`: a headless Service `web` (port `http` 80) and a StatefulSet `web` of 1,000
  replicas (`--short`: 100; `podManagementPolicy: OrderedReady`, one `volumeClaimTemplates`
  entry `data` of 1Gi with no class: the default StorageClass `standard`, Immediate binding)
  applied in one `plane.apply` and settled until every pod is Running and Ready and every
  claim Bound. Figures: wall seconds, virtual seconds, pods/s (pods Ready / wall seconds),
  events written and events/s, writes per actor (from the event log; `kubelet/*` summed: the
  plane's `Controller`s expose no reconcile counters), bytes written (the values' sizes, in
  all and per resource: Endpoints and the DNSRecordSet are rewritten whole at each pod, and
  the memory store keeps every version), peak RSS and memory per pod as in
  `bench.workloads`. Checks (`== 1`): the counts (pods Running and Ready = claims Bound = PVs
  Bound = replicas, each pod's claim bound to a PV), the order of creation read from the log
  (pod `web-<i>` created only after `web-<i-1>` was Running and Ready, and after its claim
  `data-web-<i>` was created), and the invariant checker (`tests/scenarios/invariants.py`)
  over the whole log (violations, target 0; `--no-check` skips it).
- (b) `dns`: with that cluster, a resolver from the plane's informers
  (`Resolver.from_informers`, the live path) and one from the DNSRecordSets and Namespaces
  listed at the head revision (`Resolver.from_objects`, the replay path) each answer the same
  10,000 queries from a pod of `default`:

  - `pod_short`  40%: `web-<i>.web` A (through the search path): the pod's IP;
  - `pod_fqdn`   30%: `web-<i>.web.default.svc.cluster.local` A: the pod's IP;
  - `service`    10%: `web.default.svc.cluster.local` A: every pod's IP (1,000 addresses);
  - `srv`        10%: `_http._tcp.web` SRV (search path): one record per pod, port 80,
    target `web-<i>.web.default.svc.cluster.local.`;
  - `nxdomain`   10%: `web-<replicas + i>.web` A (an ordinal the set does not have) and
    `nosuch-<i>.default.svc.cluster.local` A (no such Service), half each: NXDOMAIN.

  The ordinals cycle through 0..replicas-1, interleaved in a fixed order. One untimed pass
  checks every answer (`correct`, target 1: the pod's IP, the full set, NXDOMAIN where
  expected); then answers/s of the whole mix and of each form alone (the same queries of
  that form), the median of 3 rounds each. The replay path also reports the seconds to list
  the objects at the head revision and build the resolver. `dns.records` and
  `dns.record_set_size` are the record count and encoded size of the Service's DNSRecordSet.

Convergence: the settle has `max_seconds` (virtual, 10,000: OrderedReady starts one pod at a
time, 2 virtual seconds each: the scheduler's first try finds the new claim not bound yet and
retries after its 1 s backoff, then the kubelet takes 1 s to start the pod) and is watched on
the wall clock: no event written for 120 s while it runs (hung), or more than 3,600 s in all,
cancels it. A run that does not converge, or whose pods / claims are not all Ready / Bound after
it, fails with a message naming what was missing and exit code 2.

Nodes: ceil(1.5 x pods / 110), as `bench.workloads` (1,000 pods: 14 nodes); `--nodes N` pins
a count instead.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any, Final

import msgspec

import store
from bench._child import (
    EXIT_NOT_CONVERGED,
    SETTLE_WALL_LIMIT,
    NotConverged,
    WorkloadFailed,
    actor_group,
    child_main,
    maxrss_bytes,
    spawn,
    watched_settle,
)
from bench._dns import (
    FORMS,
    NAME,
    NAMESPACE,
    PORT,
    PORT_NAME,
    QUERIES,
    ROUNDS,
    _records,
    _snapshot_resolver,
    measure_dns,
    queries,
)
from bench._harness import progress, run_reported
from bench._machine import code_version
from bench._report import Result, Target, number
from bench._workload import summarize
from controllers.dns import Resolver
from cp.api.core import PersistentVolume, PersistentVolumeClaim
from cp.api.core_pod import Pod
from cp.plane import ControlPlane

__all__ = ["main"]

ROOT: Final = Path(__file__).resolve().parent.parent
RESULTS_DIR: Final = ROOT / "bench" / "results"
CLAIM: Final = "data"  # the claim template: claims are `data-web-<i>`
IMAGE: Final = "nginx:1.25"
FULL_REPLICAS: Final = 1_000
SHORT_REPLICAS: Final = 100
PODS_PER_NODE: Final = 110  # upstream kubelet's default maxPods
NODE_HEADROOM: Final = 1.5
SETTLE_MAX_SECONDS: Final = 10_000.0  # virtual seconds: OrderedReady is ~2 s per pod

CHECK: Final = Target("==", 1)
TARGET_VIOLATIONS: Final = Target("==", 0)


def nodes_for(pods: int) -> int:
    return max(1, math.ceil(NODE_HEADROOM * pods / PODS_PER_NODE))


def _size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _label(replicas: int) -> str:
    return f"statefulset_{_size(replicas)}"


# -- (a) the workload ------------------------------------------------------------------------


def manifests(replicas: int) -> str:
    """The headless Service and the StatefulSet, one YAML stream."""
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {NAME}
  namespace: {NAMESPACE}
  labels:
    app: {NAME}
spec:
  clusterIP: None
  selector:
    app: {NAME}
  ports:
  - name: {PORT_NAME}
    port: {PORT}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {NAME}
  namespace: {NAMESPACE}
spec:
  replicas: {replicas}
  serviceName: {NAME}
  podManagementPolicy: OrderedReady
  selector:
    matchLabels:
      app: {NAME}
  template:
    metadata:
      labels:
        app: {NAME}
    spec:
      containers:
      - name: nginx
        image: {IMAGE}
        ports:
        - name: {PORT_NAME}
          containerPort: {PORT}
        volumeMounts:
        - name: {CLAIM}
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: {CLAIM}
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
"""


def _ready(pod: Pod) -> bool:
    status = pod.status
    if status is None or status.phase != "Running":
        return False
    return any(c.type == "Ready" and c.status == "True" for c in status.conditions)


@dataclass
class Cluster:
    """What the plane holds after the settle: the figures of (a) and the pods' IPs."""

    pods_ready: int
    claims_bound: int
    pvs_bound: int
    claims_matched: int  # Bound claims whose PV is Bound back to them
    ips: dict[int, str]  # ordinal -> pod IP

    def counts_match(self, replicas: int) -> bool:
        return (
            self.pods_ready
            == self.claims_bound
            == self.pvs_bound
            == self.claims_matched
            == len(self.ips)
            == replicas
        )


async def _verify(plane: ControlPlane, replicas: int, label: str) -> Cluster:
    """Every pod Running and Ready with an IP, every claim Bound to a PV bound back to it."""
    pods = (await plane.client.list("Pod", namespace=NAMESPACE)).items
    ips: dict[int, str] = {}
    ready = 0
    for pod in pods:
        assert isinstance(pod, Pod)
        name = pod.metadata.name
        if pod.metadata.deletion_timestamp is not None or not _ready(pod):
            continue
        ready += 1
        ordinal = name.removeprefix(f"{NAME}-")
        if ordinal.isdigit() and pod.status is not None and pod.status.pod_ip:
            ips[int(ordinal)] = pod.status.pod_ip
    claims = (await plane.client.list("PersistentVolumeClaim", namespace=NAMESPACE)).items
    bound_claims: dict[str, str] = {}  # claim name -> volume name
    for claim in claims:
        assert isinstance(claim, PersistentVolumeClaim)
        if claim.status is not None and claim.status.phase == "Bound" and claim.spec.volume_name:
            bound_claims[claim.metadata.name] = claim.spec.volume_name
    volumes = (await plane.client.list("PersistentVolume")).items
    pvs_bound = matched = 0
    for pv in volumes:
        assert isinstance(pv, PersistentVolume)
        if pv.status is None or pv.status.phase != "Bound":
            continue
        pvs_bound += 1
        ref = pv.spec.claim_ref
        if ref is not None and bound_claims.get(ref.name) == pv.metadata.name:
            matched += 1
    cluster = Cluster(ready, len(bound_claims), pvs_bound, matched, ips)
    if not cluster.counts_match(replicas):
        raise NotConverged(
            f"{label}: after settle {ready}/{replicas} pods Running and Ready "
            f"({len(pods)} listed, {len(ips)} with an IP), {len(bound_claims)}/{replicas} claims "
            f"Bound ({len(claims)} listed), {pvs_bound} PVs Bound ({len(volumes)} listed), "
            f"{matched} claims and PVs bound to each other"
        )
    return cluster


def _ordinal(key: str, prefix: str) -> int | None:
    rest = key.removeprefix(prefix)
    if rest == key or not rest.isdigit():
        return None
    return int(rest)


@dataclass
class _Replay:
    """What one pass over the create phase's events found."""

    writes: Counter[str] = field(default_factory=Counter)
    written_bytes: Counter[str] = field(default_factory=Counter)  # by resource (`pods`, ...)
    pod_created: list[int] = field(default_factory=list)  # ordinals, in order of creation
    problems: list[str] = field(default_factory=list)


async def _replay(log: store.EventLog, after: int, until: int, replicas: int) -> _Replay:
    """Writes per actor and the order of creation in (after, until]: pod `web-<i>` must be
    created after `web-<i-1>` was Running and Ready (OrderedReady) and after its claim."""
    pod_prefix = f"/registry/pods/{NAMESPACE}/{NAME}-"
    claim_prefix = f"/registry/persistentvolumeclaims/{NAMESPACE}/{CLAIM}-{NAME}-"
    found = _Replay()
    ready: set[int] = set()
    claims: set[int] = set()
    decode = msgspec.json.Decoder(Pod).decode
    async for event in log.events(after=after, until=until):
        found.writes[event.actor] += 1
        key = event.key
        found.written_bytes[key.split("/")[2]] += len(event.value or b"")
        if key.startswith(claim_prefix):
            ordinal = _ordinal(key, claim_prefix)
            if ordinal is not None and event.type == "PUT" and event.prev_value is None:
                claims.add(ordinal)
            continue
        ordinal = _ordinal(key, pod_prefix)
        if ordinal is None:
            continue
        if event.type == "DELETE" or event.value is None:
            ready.discard(ordinal)
            found.problems.append(f"pod {NAME}-{ordinal} deleted at revision {event.revision}")
            continue
        if event.prev_value is None:
            found.pod_created.append(ordinal)
            if ordinal > 0 and ordinal - 1 not in ready:
                found.problems.append(
                    f"pod {NAME}-{ordinal} created at revision {event.revision} before "
                    f"{NAME}-{ordinal - 1} was Running and Ready"
                )
            if ordinal not in claims:
                found.problems.append(
                    f"pod {NAME}-{ordinal} created at revision {event.revision} before its "
                    f"claim {CLAIM}-{NAME}-{ordinal}"
                )
        if _ready(decode(event.value)):
            ready.add(ordinal)
        else:
            ready.discard(ordinal)
    if found.pod_created != list(range(replicas)):
        found.problems.append(
            f"pods created in the order {found.pod_created[:12]}... (ordinals 0..{replicas - 1} "
            "expected once each, ascending)"
        )
    return found


# -- the child: the workload in a fresh process ----------------------------------------------------


async def run_workload(replicas: int, *, nodes: int, check: bool) -> dict[str, Any]:
    """Run (a) and (b) in this process and return the figures (see the module doc)."""
    from tests.scenarios.invariants import check_log  # the repo root is on sys.path

    label = _label(replicas)
    async with ControlPlane.open(store="memory://", clock="virtual", nodes=nodes, seed=0) as plane:
        await watched_settle(plane, max_seconds=SETTLE_MAX_SECONDS, label=label)
        gc.collect()
        rss_idle = maxrss_bytes()
        result: dict[str, Any] = {
            "nodes": nodes,
            "replicas": replicas,
            "startup_events": plane.log.revision,
            "controllers": [c.name for c in plane.manager.controllers],
        }
        progress(f"    {label}: create {replicas} replicas (OrderedReady) on {nodes} nodes")
        text = manifests(replicas)
        gc.collect()
        start_rev = plane.log.revision
        t0 = perf_counter()
        await plane.apply(text)
        report = await watched_settle(plane, max_seconds=SETTLE_MAX_SECONDS, label=label)
        wall = perf_counter() - t0
        end_rev = plane.log.revision
        rss_created = maxrss_bytes()
        cluster = await _verify(plane, replicas, label)
        replay = await _replay(plane.log, start_rev, end_rev, replicas)
        for line in replay.problems[:10]:
            progress(f"    order: {line}")
        grouped: Counter[str] = Counter()
        for actor, count in replay.writes.items():
            grouped[actor_group(actor)] += count
        result["create"] = {
            "wall_s": wall,
            "virtual_s": report.seconds,
            "events": end_rev - start_rev,
            "revisions": [start_rev, end_rev],
            "pods_ready": cluster.pods_ready,
            "claims_bound": cluster.claims_bound,
            "pvs_bound": cluster.pvs_bound,
            "claims_matched": cluster.claims_matched,
            "counts_match": cluster.counts_match(replicas),
            "ordered": not replay.problems,
            "order_problems": replay.problems[:10],
            "writes_by_actor": dict(sorted(grouped.items())),
            "bytes_by_resource": dict(replay.written_bytes.most_common()),
        }
        result["rss_idle_bytes"] = rss_idle
        result["rss_created_bytes"] = rss_created
        result["bytes_per_pod"] = (rss_created - rss_idle) / replicas

        mix = queries(replicas)
        result["dns_records"] = _records(plane)
        head = await plane.log.get(f"/registry/dnsrecordsets/{NAMESPACE}/{NAME}")
        result["dns_record_set_bytes"] = 0 if head is None else len(head.value)
        progress(f"    {label}: DNS, live resolver (informers): {len(mix)} queries")
        live = Resolver.from_informers(plane.informers)
        result["dns_informers"] = measure_dns(live, mix, cluster.ips)
        progress(f"    {label}: DNS, replay resolver (objects at the head revision)")
        snapshot, build_s, revision = await _snapshot_resolver(plane)
        result["dns_objects"] = {
            **measure_dns(snapshot, mix, cluster.ips),
            "build_s": build_s,
            "revision": revision,
        }
        result["rss_peak_bytes"] = maxrss_bytes()
        if check:
            progress(f"    {label}: checking invariants over {plane.log.revision} events")
            t0 = perf_counter()
            violations = await check_log(plane.log)
            result["check"] = {
                "seconds": perf_counter() - t0,
                "events": plane.log.revision,
                "violations": len(violations),
                "by_rule": dict(Counter(v.rule for v in violations)),
                "first": [str(v) for v in violations[:10]],
            }
    return result


# -- the parent: one subprocess ------------------------------------------------------------------


def _spawn(replicas: int, *, nodes: int, check: bool) -> dict[str, Any]:
    spec = json.dumps({"replicas": replicas, "nodes": nodes, "check": check})
    limit = SETTLE_WALL_LIMIT + 1200.0  # a backstop only
    return spawn("bench.stateful", spec, label=_label(replicas), limit=limit)


@dataclass
class Context:
    results: list[Result] = field(default_factory=list)

    def _add(self, result: Result) -> None:
        self.results.append(result)
        verdict = {None: "", True: "  PASS", False: "  MISS"}[result.passed]
        shown = f"  (target {result.target})" if result.target else ""
        progress(f"  = {result.name}: {number(result.value)} {result.unit}{shown}{verdict}")

    def add(self, name: str, value: float, unit: str, target: Target | None = None) -> None:
        self._add(Result(name, value, unit, target, "single run", (value,)))

    def median(self, name: str, values: Sequence[float], unit: str) -> None:
        value = summarize(values, stat="median")
        self._add(Result(name, value, unit, None, f"median of {len(values)}", tuple(values)))

    def report(self, label: str, r: dict[str, Any]) -> None:
        c = r["create"]
        name = f"{label}.create"
        wall = c["wall_s"]
        self.add(f"{name}.wall", wall, "s")
        self.add(f"{name}.virtual", c["virtual_s"], "s")
        self.add(f"{name}.pods_per_s", c["pods_ready"] / wall, "pods/s")
        self.add(f"{name}.events", c["events"], "events")
        self.add(f"{name}.events_per_s", c["events"] / wall, "events/s")
        for actor, count in c["writes_by_actor"].items():
            self.add(f"{name}.writes.{actor}", count, "writes")
        written = c["bytes_by_resource"]
        self.add(f"{name}.bytes_written", sum(written.values()) / 2**20, "MiB")
        for resource_name, size in written.items():
            self.add(f"{name}.bytes_written.{resource_name}", size / 2**20, "MiB")
        self.add(f"{label}.pods_ready", c["pods_ready"], "pods")
        self.add(f"{label}.claims_bound", c["claims_bound"], "claims")
        self.add(f"{label}.pvs_bound", c["pvs_bound"], "PVs")
        self.add(f"{label}.counts_match", int(c["counts_match"]), "bool", CHECK)
        for line in c["order_problems"]:
            progress(f"    order: {line}")
        self.add(f"{label}.ordered_creation", int(c["ordered"]), "bool", CHECK)
        self.add(f"{label}.peak_rss", r["rss_peak_bytes"] / 2**20, "MiB")
        self.add(f"{label}.memory_per_pod", r["bytes_per_pod"], "B/pod")
        check = r.get("check")
        if check is not None:
            for line in check["first"]:
                progress(f"    violation: {line}")
            if check["violations"]:
                progress(f"    violations by rule: {check.get('by_rule', '?')}")
            self.add(f"{label}.invariant_violations", check["violations"], "", TARGET_VIOLATIONS)
            self.add(f"{label}.checker", check["events"] / check["seconds"], "events/s")
        self.add("dns.records", r["dns_records"], "records")
        self.add("dns.record_set_size", r["dns_record_set_bytes"] / 1024, "KiB")
        for source in ("informers", "objects"):
            d = r[f"dns_{source}"]
            for line in d["first_wrong"]:
                progress(f"    wrong answer ({source}): {line}")
            self.add(f"dns.{source}.correct", int(d["wrong"] == 0), "bool", CHECK)
            for form, rates in d["answers_per_s"].items():
                self.median(f"dns.{source}.{form}", rates, "answers/s")
            if "build_s" in d:
                self.add(f"dns.{source}.build", d["build_s"], "s")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stateful",
        description="Benchmark an OrderedReady StatefulSet with claims and the cluster resolver "
        "(see the module doc).",
    )
    parser.add_argument("--short", action="store_true", help=f"{SHORT_REPLICAS} replicas")
    parser.add_argument(
        "--replicas", type=int, metavar="N", help=f"replicas (default {FULL_REPLICAS:,})"
    )
    parser.add_argument("--nodes", type=int, metavar="N", help="nodes (default ceil(1.5N/110))")
    parser.add_argument("--no-check", action="store_true", help="skip the invariant check")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="results file (default bench/results/stateful.json, or stateful-short.json with "
        "--short; a run with --replicas writes none unless --out is given)",
    )
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        raw = json.loads(args.child)
        return child_main(
            lambda: run_workload(raw["replicas"], nodes=raw["nodes"], check=raw["check"])
        )
    if args.replicas is not None and args.replicas < 1:
        raise SystemExit("--replicas must be at least 1")
    if args.nodes is not None and args.nodes < 1:
        raise SystemExit("--nodes must be at least 1")
    replicas: int = args.replicas or (SHORT_REPLICAS if args.short else FULL_REPLICAS)
    nodes: int = args.nodes if args.nodes is not None else nodes_for(replicas)
    out: Path | None = args.out
    if out is None and args.replicas is None:
        out = RESULTS_DIR / ("stateful-short.json" if args.short else "stateful.json")
    cp_dir = Path(sys.modules["cp"].__file__ or "cp").resolve().parent
    runs: dict[str, Any] = {}
    header = {
        "store": code_version(Path(store.__file__).resolve().parent),
        "cp": code_version(cp_dir),
        "controllers": code_version(ROOT / "controllers"),
        "mode": "short" if args.short else "full",
        "replicas": replicas,
        "nodes": nodes,
        "queries": QUERIES,
        "forms": dict(FORMS),
        "rounds": ROUNDS,
        "settle_max_seconds": SETTLE_MAX_SECONDS,
        "runs": runs,
    }
    ctx = Context()
    label = _label(replicas)
    failures: list[str] = []

    def run() -> list[Result]:
        progress(f"[{label}] {replicas} replicas, OrderedReady, one claim each, {nodes} nodes")
        t0 = perf_counter()
        try:
            result = _spawn(replicas, nodes=nodes, check=not args.no_check)
        except WorkloadFailed as exc:
            progress(f"error: {exc}")
            failures.append(str(exc))
            runs[label] = None
            ctx.add(f"{label}.converged", 0, "bool", CHECK)
            return ctx.results
        progress(f"[{label}] {perf_counter() - t0:.1f} s")
        runs[label] = result
        ctx.add(f"{label}.converged", 1, "bool", CHECK)
        ctx.report(label, result)
        return ctx.results

    code = run_reported(run, out, header)
    if failures:
        return EXIT_NOT_CONVERGED
    return code


if __name__ == "__main__":
    sys.exit(main())

"""`cpemu host [-t TYPE] NAME [--at REV]`: what bind9's `host` prints inside a pod of the
namespace (`-n`, default `default`), read-only.

The pod's resolv.conf is kubelet's for dnsPolicy ClusterFirst (`search <ns>.svc.cluster.local
svc.cluster.local cluster.local`, `options ndots:5`) and CoreDNS answers from the kubernetes
plugin; both live in `controllers.dns.resolver`, which reads the DNS controller's DNSRecordSets
(and Namespaces, for the names of a namespace that exists without a Service). Here they are
listed at the head or at `--at REV`, so "what did this name resolve to at revision 40" can be
asked of the log:

    $ cpemu host myapp-svc-headless
    myapp-svc-headless.default.svc.cluster.local has address 10.244.0.2
    myapp-svc-headless.default.svc.cluster.local has address 10.244.1.2
    $ cpemu host mtdb-0.mydb
    Host mtdb-0.mydb not found: 3(NXDOMAIN)

As `host` does (bind9 `bin/dig/host.c`), every line goes to stdout and the exit code is 1 when
the name does not exist (NXDOMAIN), 0 otherwise (also for an empty NOERROR answer, `... has no
SRV record`). An IP address is looked up as the PTR of its reverse name, whatever `-t` says.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import TYPE_CHECKING, Any

from cp.api.meta import ApiStruct
from cp.cli.common import CliError, Runner

if TYPE_CHECKING:
    from controllers.dns.resolver import Answer, Resolver

__all__ = ["add_parsers", "host"]

#: What the resolver needs to answer: the DNS controller's record sets and the Namespaces.
_SOURCE_KINDS = ("DNSRecordSet", "Namespace")


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    """The `host` subcommand with its `handler`."""
    text = "resolve a name as `host` does inside a pod of the namespace (read-only)"
    sub = verbs.add_parser("host", parents=[common], help=text, description=text)
    sub.add_argument("name", metavar="NAME", help="a name or an IP address")
    sub.add_argument(
        "-t",
        "--type",
        dest="qtype",
        type=str.upper,
        default=None,
        help="the query type (default: A and AAAA, as `host` asks)",
    )
    sub.add_argument("--at", type=int, default=None, metavar="REV", help="resolve at revision REV")
    sub.set_defaults(handler=host)


async def host(run: Runner) -> None:
    # the resolver loads with the DNS controller's package: only when `host` runs
    from controllers.dns.resolver import QTYPES, Resolver, host_lines

    args = run.args
    if args.qtype is not None and args.qtype not in QTYPES:
        choices = ", ".join(repr(q) for q in QTYPES)
        raise CliError(
            f"argument -t/--type: invalid choice: {args.qtype!r} (choose from {choices})"
        )
    name: str = args.name
    namespace = run.namespace or "default"
    if not name.strip(".") or ".." in name:
        run.error(f"host: '{name}' is not a legal name (empty label)")
        return
    async with run.read(at=args.at) as view:
        objects: list[ApiStruct] = []
        for kind in _SOURCE_KINDS:
            items, _ = await view.server.list(kind, None, at=view.at)
            objects.extend(items)
    resolver = Resolver.from_objects(objects)
    lines = host_lines(resolver, name, args.qtype, namespace)
    if lines:
        run.out("\n".join(lines) + "\n")
    if _first_answer(resolver, name, args.qtype, namespace).nxdomain:
        run.failed = True  # `host` exits 1 when the name does not exist


def _first_answer(resolver: Resolver, name: str, qtype: str | None, namespace: str) -> Answer:
    """The query whose NXDOMAIN makes `host` fail: the PTR of an address's reverse name, else
    the `-t` type, else A (`host` asks AAAA only once A did not fail)."""
    try:
        reverse = ipaddress.ip_address(name).reverse_pointer
    except ValueError:
        return resolver.resolve(name, qtype or "A", namespace)
    return resolver.resolve(f"{reverse}.", "PTR", namespace)

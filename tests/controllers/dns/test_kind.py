"""The `DNSRecordSet` kind: discovery names, the Struct conventions of `cp.api`, and the
manifest/bytes round trips the API server and the CLI rely on."""

from __future__ import annotations

import msgspec
import pytest

from cp.api.codec import CODEC, decode, encode, load_manifests
from cp.api.dns import DNSRecord, DNSRecordSet
from cp.api.kinds import KINDS
from cp.api.meta import ObjectMeta

MANIFEST = """
apiVersion: dns.cpemu.io/v1
kind: DNSRecordSet
metadata:
  name: web
  namespace: default
records:
- name: web.default.svc.cluster.local
  type: A
  data: [10.96.0.10]
- name: _http._tcp.web.default.svc.cluster.local
  type: SRV
  data: ["0 100 80 web.default.svc.cluster.local."]
"""


@pytest.mark.parametrize(
    "name",
    ["DNSRecordSet", "dnsrecordsets", "dnsrecordset", "dnsrs", "dnsrecordsets.dns.cpemu.io"],
)
def test_discovery_names(name: str) -> None:
    info = KINDS.lookup(name)
    assert info is not None
    assert (info.kind, info.api_version, info.namespaced) == (
        "DNSRecordSet",
        "dns.cpemu.io/v1",
        True,
    )
    assert KINDS.for_api_version("dns.cpemu.io/v1", "DNSRecordSet") is info


@pytest.mark.parametrize("cls", [DNSRecord, DNSRecordSet])
def test_struct_conventions(cls: type[msgspec.Struct]) -> None:
    config = cls.__struct_config__
    assert config.frozen
    assert config.forbid_unknown_fields
    assert config.omit_defaults
    assert not config.gc
    assert all("_" not in f.encode_name for f in msgspec.structs.fields(cls))


def test_manifest_and_bytes_round_trip() -> None:
    (obj,) = load_manifests(MANIFEST)
    assert isinstance(obj, DNSRecordSet)
    assert (obj.zone, obj.ttl) == ("cluster.local", 5)
    assert obj.records[1] == DNSRecord(
        name="_http._tcp.web.default.svc.cluster.local",
        type="SRV",
        data=("0 100 80 web.default.svc.cluster.local.",),
    )
    assert decode(DNSRecordSet, encode(obj)) == obj
    assert CODEC.decode("dnsrs", encode(obj)) == obj
    wire = msgspec.json.decode(encode(obj))
    assert "zone" not in wire  # defaults are omitted, as Go's omitempty
    assert wire["apiVersion"] == "dns.cpemu.io/v1"


def test_defaults() -> None:
    empty = DNSRecordSet(metadata=ObjectMeta(name="x"))
    assert (empty.api_version, empty.kind, empty.records) == ("dns.cpemu.io/v1", "DNSRecordSet", ())

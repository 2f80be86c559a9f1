"""The link catalog (``data/links.toml``): what joins the machines of a cluster, with its data rate, the round
trip of a small message, whether it is an RDMA transport, and what it costs per node.  Loaded once,
validated (every problem named by its key); short names and aliases resolve (``tb5-rdma``, ``25gbe``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .._validate import Problems, check_record, from_record, schema_of, spec
from ..errors import UnknownName
from ..safeio import check_name


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkSpec:
    name: str = spec("str", True)
    title: str = spec("str", True)
    aliases: tuple[str, ...] = spec("str_list")
    gb_s: float = spec("pos_num", True)  # per direction
    rtt_us: float = spec("pos_num", True)  # round trip of a small message
    rdma: bool = spec("bool", True)
    cost_usd: float = spec("num", default=0.0)  # per node (NIC or cable); a switch is separate
    switch_usd: float = spec("num", default=0.0)  # a switch for more than two machines (Ethernet, InfiniBand)
    source: str = spec("str", True)
    as_of: str = spec("date", True)

    @property
    def rtt_s(self) -> float:
        return self.rtt_us * 1e-6


@functools.cache
def link_catalog() -> tuple[LinkSpec, ...]:
    from ..catalogdata import embedded

    doc = embedded("links")
    problems = Problems("rigfit/data/links.toml")
    out = []
    for i, rec in enumerate(doc.get("link", [])):
        if check_record(rec, schema_of(LinkSpec), f"link[{i}]", problems):
            out.append(from_record(LinkSpec, rec))
    problems.raise_if_any()
    return tuple(out)


def _key(text: str) -> str:
    return "".join(c for c in text.strip().lower() if c.isalnum() or c == ".")


def resolve_link(text: str) -> LinkSpec:
    """The link ``text`` names (its name or an alias, case and spaces ignored)."""
    check_name("link", text)
    k = _key(text)
    for link in link_catalog():
        if k == _key(link.name) or k in (_key(a) for a in link.aliases):
            return link
    raise UnknownName("link", text, [link.name for link in link_catalog()])


def read_cluster_file(path: str) -> tuple[tuple[str, ...], LinkSpec]:
    """A cluster described in TOML: ``[[node]]`` tables with ``hardware`` (names or ``Nx NAME``, a list) and an
    optional ``ram`` ("64GB"), and ``link``: a catalog name, or a table ``{name, gb_s, rtt_us, rdma}`` for a link
    the catalog lacks.  Returns the nodes as ``--node`` values and the link."""
    import tomllib

    from ..errors import InvalidInput
    from ..safeio import clean_text, read_regular_file

    where = clean_text(path)
    raw = read_regular_file(path, 1 << 20, "cluster file")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{where}: not a TOML cluster file ({e})", options=("cluster",)) from None
    nodes = doc.get("node")
    if not isinstance(nodes, list) or not nodes:
        raise InvalidInput(f"{where}: expected [[node]] tables, one per machine", options=("cluster",))
    specs = []
    for i, n in enumerate(nodes):
        hw = n.get("hardware") if isinstance(n, dict) else None
        if isinstance(hw, str):
            hw = [hw]
        if not isinstance(hw, list) or not hw or not all(isinstance(h, str) and h.strip() for h in hw):
            raise InvalidInput(f"{where}: node[{i}].hardware: expected device names", options=("cluster",))
        ram = n.get("ram")
        if ram is not None and not isinstance(ram, str):
            raise InvalidInput(f"{where}: node[{i}].ram: expected a size such as \"64GB\"", options=("cluster",))
        specs.append(", ".join([*hw, *([ram] if ram else [])]))
    link = doc.get("link")
    if isinstance(link, str):
        return tuple(specs), resolve_link(link)
    if isinstance(link, dict):
        rec = {"name": "custom", "title": "custom link", "source": f"cluster file {where}", "as_of": "2026-12",
               "rdma": False} | link
        problems = Problems(where)
        if not check_record(rec, schema_of(LinkSpec), "link", problems):
            problems.raise_if_any()
        return tuple(specs), from_record(LinkSpec, rec)
    if len(specs) == 1:
        return tuple(specs), resolve_link("10gbe")  # one machine: no link is used
    raise InvalidInput(f"{where}: expected link = \"NAME\" or a [link] table with gb_s and rtt_us",
                       options=("cluster",))


__all__ = ["LinkSpec", "link_catalog", "read_cluster_file", "resolve_link"]

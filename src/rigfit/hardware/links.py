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


__all__ = ["LinkSpec", "link_catalog", "resolve_link"]

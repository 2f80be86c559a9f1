"""The hardware advisor: for a stack of models and a workload, the cheapest complete builds that run
every model well, ranked, with their price/speed Pareto front and what the cheapest cannot do.

Search: every priced accelerator option in the catalogs (GPUs new or used in 1-4 card desktops, Macs,
unified-memory mini PCs, laptops), each planned and timed with the same placement and speed models as
``rigfit fit``; the memory of each model is estimated once per backend.  For GPUs only the smallest card
count that holds the whole stack is timed (a llama.cpp layer split adds memory, not decode speed).  The
rest of a PC (CPU platform, RAM, storage, PSU, cooling, case) comes from ``buildrules``.
"""

from __future__ import annotations

from .builds import Build, NearMiss, PricedPart, RankedBuild, Recommendation, complete_build, platform_caveats
from .evaluate import ModelOnBuild, Shortfall
from .explain import applied_rules, cheapest_limits
from .machine import MachineReport, machine_report
from .options import Request, accelerator_options, check_request
from .recommend import pareto_front, recommend
from .workloads import Workload, default_workloads, get_workload, parse_workloads

__all__ = [
           "Build",
           "MachineReport",
           "ModelOnBuild",
           "NearMiss",
           "PricedPart",
           "RankedBuild",
           "Recommendation",
           "Request",
           "Shortfall",
           "Workload",
           "accelerator_options",
           "applied_rules",
           "cheapest_limits",
           "check_request",
           "complete_build",
           "default_workloads",
           "get_workload",
           "machine_report",
           "pareto_front",
           "parse_workloads",
           "platform_caveats",
           "recommend",
]

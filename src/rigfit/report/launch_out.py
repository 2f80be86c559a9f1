"""Launch recipes as terminal text and JSON (``rigfit fit --command``, ``/api/fit?command=``)."""

from __future__ import annotations

from ..launch import Launch


def launch_text(lc: Launch) -> str:
    """Plain text for the terminal: files first, then the commands, then notes as comments."""
    out = [f"# {lc.engine}: {lc.summary}"]
    for f in lc.files:
        out += [f"# --- {f.name} ---", f.content.rstrip("\n"), f"# --- end of {f.name} ---"]
    out += list(lc.commands)
    if lc.engine == "lmstudio" and lc.runnable:
        out.append("# load settings:")
        out += [f"#   {k}: {v}" for k, v in lc.settings]
    out += [f"# {n}" for n in lc.notes]
    return "\n".join(out) + "\n"


def launch_dict(lc: Launch) -> dict[str, object]:
    return {"engine": lc.engine, "runnable": lc.runnable, "summary": lc.summary, "argv": list(lc.argv),
            "commands": list(lc.commands), "files": [{"name": f.name, "content": f.content} for f in lc.files],
            "settings": {k: v for k, v in lc.settings}, "notes": list(lc.notes)}

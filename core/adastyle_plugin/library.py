"""The style library as the plug-ins use it: search the listing, and turn chosen entries into a job's styles.

Standard library only (it runs in GIMP's and Krita's Python). Why here: the Krita docker's grid and the GIMP
dialog both filter the server's listing by a search text and favourites, and both send library styles as
`style_id=lib:<id>` with the weights and settings a preset stores; doing that once keeps them alike.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from adastyle_plugin import wire
from adastyle_plugin.errors import PluginError

LIB_PREFIX = "lib:"
Entry = Dict[str, Any]


def matches(entry: Entry, query: str) -> bool:
    """Every word of `query` is in the entry's name or tags (any case); an empty query matches all."""
    words = query.casefold().split()
    text = " ".join([str(entry.get("name", ""))] + [str(t) for t in entry.get("tags", [])]).casefold()
    return all(w in text for w in words)


def search(entries: Sequence[Entry], query: str = "", favourites_only: bool = False,
           kind: Optional[str] = None) -> List[Entry]:
    """The entries to show for a search box, a favourites toggle and (optionally) one kind, in listing order."""
    return [e for e in entries if matches(e, query) and (e.get("favourite") or not favourites_only)
            and (kind is None or e.get("kind") == kind)]


def by_name(entries: Sequence[Entry], name: str) -> Entry:
    """The entry of this name (any case) or id; PluginError when there is none."""
    key = name[len(LIB_PREFIX):] if name.lower().startswith(LIB_PREFIX) else name
    for e in entries:
        if e.get("id") == key or str(e.get("name", "")).casefold() == key.strip().casefold():
            return e
    raise PluginError(f"no library style or preset named {name!r}")


def label(entry: Entry) -> str:
    """What a result layer calls a library entry: its name (an id such as '24b3ba3f70fb', which a style added by
    a user gets, names nothing the user knows); its id when it has no name."""
    return str(entry.get("name") or entry["id"])


def names(entries: Sequence[Entry]) -> Dict[str, str]:
    """Each entry's `label` by its id."""
    return {str(e["id"]): label(e) for e in entries if "id" in e}


def job_styles(chosen: Sequence[Tuple[Entry, float]]) -> Tuple[List[str], List[float], Dict[str, Any]]:
    """(style_ids, weights, settings) for a job from library entries with weights.

    Styles go as `lib:<id>` with their weight; a preset brings its styles, each weight scaled by the preset's,
    and, when it is the only entry chosen, its alpha, colour mode and stroke scale as `settings`.
    """
    ids: List[str] = []
    weights: List[float] = []
    settings: Dict[str, Any] = {}
    for entry, weight in chosen:
        if entry.get("kind") == "preset":
            for part in entry.get("styles", []):
                ids.append(LIB_PREFIX + str(part["id"]))
                weights.append(float(weight) * float(part["weight"]))
            if len(chosen) == 1:
                settings = {"alpha": float(entry.get("alpha", wire.ALPHA.default)),
                            "preserve_color": str(entry.get("preserve_color", wire.PRESERVE_COLOR.default)),
                            "scale": float(entry.get("scale", wire.SCALE.default))}
        else:
            ids.append(LIB_PREFIX + str(entry["id"]))
            weights.append(float(weight))
    return ids, weights, settings

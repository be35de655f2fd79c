"""catalogue/: the packaged zoo as a static site people click through.

``hades-zoo catalogue --out site/`` (``build.build_catalogue``) writes an index of
every entry with filters and sorting, and one page per entry: its replay, dataset
plot, learning curve (entries evolved here), certificate, transfer grid, recipe,
provenance and the commands to use it. Modules: ``facts`` (what a page shows, from
``zoo.summary``, the registry and the checkout's results), ``replays`` (make or reuse
each replay through a render function that is passed in), ``pages`` (Jinja2
templates, ``templates/``) and ``build`` (the folder: checks, assets from
``static/``, the atomic swap). The site needs no network: no CDN, its own script
and style sheet.

Part of the zoo layer: may import ``hades_zoo.hub``, ``engine``, ``data``,
``errors``.
"""

from hades_zoo.zoo.catalogue.build import (
    CatalogueResult,
    build_catalogue,
    check_out,
    is_catalogue,
    select_ids,
)
from hades_zoo.zoo.catalogue.replays import Replay, ReplaySettings, default_replay

__all__ = [
    "CatalogueResult",
    "Replay",
    "ReplaySettings",
    "build_catalogue",
    "check_out",
    "default_replay",
    "is_catalogue",
    "select_ids",
]

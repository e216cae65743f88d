"""The web layer's shared parts: templates, navigation, SLO page panels, rendering.

One :class:`Site` per app (``app.state.site``, reached by routes through
``SiteDep``). Templates are Jinja2 with autoescaping on for every template,
so names, labels and descriptions from specs are always text, never markup.
A feature adds a page with :meth:`Site.add_page` (a navigation entry) and a
router whose handlers call :meth:`Site.render` with ``base.html`` as layout;
it adds a panel to the SLO page with :meth:`Site.add_panel` (docs/web.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from server.web import format as fmt
from server.web.overview import RowCache
from server.web.panels import DEFAULT_PANELS, Panel
from sloctl import __version__
from sloctl.durations import format_duration

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass(frozen=True)
class NavItem:
    """A page in the header's navigation; current on its path and on paths under ``under``."""

    label: str
    path: str
    under: tuple[str, ...] = ()

    def current(self, path: str) -> bool:
        return path == self.path or any(path.startswith(p + "/") for p in self.under)


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.filters.update(
        percent=fmt.percent,
        objective=fmt.objective,
        burn=fmt.burn,
        duration=fmt.duration,
        timestamp=fmt.timestamp,
        iso=fmt.iso,
        duration_key=format_duration,
    )
    env.globals["version"] = __version__
    return env


@dataclass
class Site:
    """Templates, navigation and the SLO page's panels of one app."""

    env: jinja2.Environment = field(default_factory=make_environment)
    nav: list[NavItem] = field(
        default_factory=lambda: [
            NavItem("Overview", "/", ("/slos",)),
            NavItem("On-call", "/oncall", ("/oncall",)),
        ]
    )
    panels: list[Panel] = field(default_factory=lambda: list(DEFAULT_PANELS))
    rows: RowCache = field(default_factory=RowCache)

    def add_page(self, label: str, path: str) -> None:
        """Add (or keep) a navigation entry for a page served at ``path`` (and under it)."""
        if not any(item.path == path for item in self.nav):
            self.nav.append(NavItem(label, path, (path,)))

    def add_panel(self, panel: Panel, *, after: str | None = None) -> None:
        """Add a panel to the SLO page, replacing one with the same id, else after ``after``
        (at the end by default)."""
        for index, existing in enumerate(self.panels):
            if existing.id == panel.id:
                self.panels[index] = panel
                return
        ids = [p.id for p in self.panels]
        position = ids.index(after) + 1 if after in ids else len(self.panels)
        self.panels.insert(position, panel)

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        refresh: float = 0,
    ) -> HTMLResponse:
        """Render ``template`` with the layout's variables (navigation, refresh interval)."""
        path = request.url.path
        current = next((item for item in self.nav if item.current(path)), None)
        html = self.env.get_template(template).render(
            nav=self.nav,
            current_nav=current,
            refresh=refresh,
            request_url=str(request.url.path)
            + (f"?{request.url.query}" if request.url.query else ""),
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def get_site(request: Request) -> Site:
    site = request.app.state.site
    assert isinstance(site, Site)
    return site


SiteDep = Annotated[Site, Depends(get_site)]

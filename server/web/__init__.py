"""The web page of error-budget burn: server-rendered HTML over the server's own data.

``routes`` serves the pages, ``site`` holds templates, navigation and the SLO
page's panels, ``overview`` and ``detail`` build what each page shows (pure),
``charts`` draws inline SVG, ``links`` points to Grafana and Prometheus, and
``security`` sets the headers. See docs/web.md.
"""

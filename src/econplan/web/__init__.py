"""The web application: the plan store and its execution served over HTTP.

A thin front (FastAPI) over :mod:`econplan.execution`: every rule (roles, approval, report
checks) is the library's. ``app`` builds the application; ``policy`` is the one table of who
may call which route, which ``auth`` enforces for every route; ``api`` is the JSON API,
``pages`` the server-rendered pages; ``worker`` runs long jobs outside the request; ``demo``
seeds an empty store. docs/web.md describes it.
"""

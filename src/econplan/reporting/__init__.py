"""Figures and reports of a plan: :mod:`econplan.reporting.figures` (every figure, pure) and
:mod:`econplan.reporting.plan_report` (one report definition, rendered as an HTML page and an
Excel workbook)."""

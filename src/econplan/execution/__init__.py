"""Plan execution: the loop after a plan is computed.

A plan is stored and versioned (:mod:`~econplan.execution.store`), broken down into the control
figures each enterprise must meet (:mod:`~econplan.execution.breakdown`), reported on
(:mod:`~econplan.execution.reports`), watched (:mod:`~econplan.execution.monitor`) and planned
again from what was reported (:mod:`~econplan.execution.replan`).

The maths here is pure (pandas in, pandas out); only ``store`` knows about the database, and
nothing in :mod:`econplan.plan` knows about any of this.

Frames shared between the modules (long format, one row per figure):

- control figures: ``facility, region, process, product, year, month, kind, amount`` with
  ``kind`` one of ``output``, ``input``, ``labour`` and ``month`` 1-12; amounts in the
  product's unit (labour in person-years).
- reports: ``report, facility, period, kind, product, amount`` with ``period`` "YYYY-MM" and
  ``kind`` one of ``output``, ``input``, ``labour``, ``construction``.
"""

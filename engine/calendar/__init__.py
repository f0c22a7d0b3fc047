"""The calendar of the law: UTC moments from what models say about time, working days.

``moments`` turns timer values and due dates into UTC instants (end of day in Brussels,
clamped month arithmetic); ``cycles`` computes the occurrences of repeating timers;
``days`` knows which days are working days (weekends, Belgian public holidays, Iris Day,
configured closure days) and counts them. The expression functions built on them are in
:mod:`engine.expressions.functions`; the process owners' guide is ``docs/calendar.md``.
"""

"""The calendar of the law: UTC moments from what models say about time, working days.

``moments`` turns timer values and due dates into UTC instants (end of day in Brussels,
clamped month arithmetic); ``days`` knows which days are working days.
"""

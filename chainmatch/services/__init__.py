"""The service layer: what the API, the dashboard and the CLI call.

Each function takes a :class:`~chainmatch.services.context.Caller` first (who is calling, the
database, the index, the settings) and returns domain types. Only this layer resolves regions,
checks permissions, writes audit rows, opens transactions and raises domain errors
(:mod:`chainmatch.errors`); the front doors parse input, call one service and shape the output.

Modules: ``context`` (the caller), ``regions`` (region authorisation), ``chains``, ``reports``,
``outreach``, ``match``, and the gap-list, firm and key services.
"""

"""``tenon demo``: the §11.1 demo dataset "Acme Tech (Shenzhen)".

The inputs (departments, job levels, distributions, name pools) are data in
``apps_catalog/demo/``; the modules here turn them into records through the same record
service the HTTP API writes with (validation, computed fields, rules, automations,
workflows and audit all run), one module per catalog app. ``run.generate`` is the entry.
"""

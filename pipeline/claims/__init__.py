"""The papers' headline claims as data, with verdicts computed from the records per device.

One file per concern: registry.py (the claims, declared once), measures.py (what each claim
measures, over the tables' aggregations), rules.py (verdict rules), ledger.py (per-device
verdicts, the markdown ledger, ``adapterbench claims``).
"""

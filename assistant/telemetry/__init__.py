"""What kb reports about itself: Prometheus metrics (`metrics`) and JSON log lines (`json_logs`).

Low in the import layers: frontends and the document library call in with what they already
hold (an answer, an ingest report, a profile name); nothing here reads settings, builds parts
or knows a frontend.
"""

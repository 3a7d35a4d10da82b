"""Thin adapters over one `Assistant`: command line, web page."""

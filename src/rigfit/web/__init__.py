"""Local web page and JSON API (``rigfit serve``); the only package besides cli.py that imports a web
framework."""

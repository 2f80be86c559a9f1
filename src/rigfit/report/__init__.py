"""Rendering: JSON documents and terminal tables.  Rendering never computes."""

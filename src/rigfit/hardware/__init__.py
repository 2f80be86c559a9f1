"""Hardware: device specs from the catalogs, name resolution, usable-memory rules, detection."""

"""Pictures: capped SSRF-guarded download, decode, fit to the upload limit, grids, masks."""

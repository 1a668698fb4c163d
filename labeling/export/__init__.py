"""Exports: datasets, reward pairs, SFT data, every answer, and lossless dumps of projects.

Pure parts (no database, no web): `options` (what an export asks for), `rows` (the plain rows writers read,
and splits), `formats` (the registry: which formats exist, which options they take, which files they write),
the writers (`tabular`, `manifest`, `vision`, `feedback`), `archive` (where the bytes go: one file, a zip
streamed as it is made, or a folder) and `card` (the dataset card). The database parts: `exporter` streams a
project's rows in keyset pages from one snapshot into the writers; `dump` writes and restores lossless dumps.
The CLI (`cli`) and the HTTP route (labeling/api/export.py) run the same `exporter.stream`, so they give the
same bytes.
"""

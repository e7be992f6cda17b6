"""The legacy system's CSV exports: a synthetic generator and the `migrate_legacy` importer."""

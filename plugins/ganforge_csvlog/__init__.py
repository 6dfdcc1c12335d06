"""The CSV logger: every metrics line of a run as a row of ``<run>/metrics.csv``, for a spreadsheet or pandas,
with nothing to install. Enabled with ``--set csv.enabled=true``; a plugin like the TensorBoard logger, using the
public lifecycle hooks and a config section of its own."""

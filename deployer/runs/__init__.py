"""Node runs: service functions on the database, secret storage and the worker."""

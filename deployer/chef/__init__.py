"""Chef Infra Server API client (signed requests) and cookbook upload."""

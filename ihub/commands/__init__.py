"""The `ihub` CLI's command groups, one module per seed screen."""

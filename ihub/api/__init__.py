"""The REST API (`ihub api`): the integration-management domain under /api/v1, for operators and integrations."""

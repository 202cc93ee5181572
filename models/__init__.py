"""The hub's data: SQLModel tables, the connector spec, and the engine/session.

Importing the package loads none of them, so a command can use a light module (`models.errors`,
`models.log_enums`) without SQLModel; `models.tables` registers every table.
"""

"""A local module the etl_to_airflow notebook imports; the export ships it beside the DAG."""

from __future__ import annotations

REGIONS = {"ada": "north", "bob": "south", "cy": "east"}


def region_of(customer: object) -> str:
    """The sales region of a customer name (``"unknown"`` for a missing or new one)."""
    if not isinstance(customer, str):
        return "unknown"
    return REGIONS.get(customer.lower(), "unknown")

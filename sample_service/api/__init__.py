"""HTTP routes of the orders service, one module per resource."""

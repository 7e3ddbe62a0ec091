"""The constraint families of the plan problem, one module each: what it adds to the problem
(columns, rows with named dimensions, the meaning and unit of their valuations) and how
verification recomputes it from a plan's tables. ``registry.FAMILIES`` lists them in the order
they are assembled; adding a kind of row constraint is one more module there (and its schema
columns). docs/planning.md, sections 3 and 8, writes each one out and says what is still
written per case elsewhere."""

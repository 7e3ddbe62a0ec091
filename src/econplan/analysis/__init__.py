"""Analysis of an economy: pure functions over its tables and sparse matrices."""

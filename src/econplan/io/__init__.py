"""Reading and writing economies: folders of CSV files with economy.toml, and xlsx workbooks."""

from econplan.io.raw import RawEconomy, read_raw
from econplan.io.write import write_economy

__all__ = ["RawEconomy", "read_raw", "write_economy"]

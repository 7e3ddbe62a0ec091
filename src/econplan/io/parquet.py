"""Tables as Parquet files: typed columns for economies too large for CSV.

In a folder economy any table may be given as ``NAME.parquet`` instead of ``NAME.csv``.
Columns keep their types (numbers as numbers, booleans as booleans), and text is read
dictionary-encoded, as pandas categoricals: a column of 10^7 ids costs an int32 code per
cell plus each distinct id once, and validation works on the codes. Problems in a Parquet
table name the row as if the file had a header line: the file's first row is row 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from econplan.errors import Problem
from econplan.schema import Table

if TYPE_CHECKING:
    from econplan.model.economy import Economy

SUFFIX = ".parquet"
FIRST_ROW = 2
"""The row number of a Parquet file's first row in problems, as in a CSV file with its header."""

ROW_GROUP_SIZE = 1 << 22
"""Rows per row group: large groups write and read a table of 10^7 rows about twice as fast
as pyarrow's default, and files are a little smaller."""

ARROW_TYPES = {"number": "float64", "integer": "int64", "year": "int64", "boolean": "bool"}


def parquet_file(table: Table) -> str:
    """The Parquet file that may hold ``table`` instead of its CSV file."""
    return Path(table.file).with_suffix(SUFFIX).name


def read_parquet_table(file: Path, name: str, problems: list[Problem]) -> pd.DataFrame | None:
    """The table's columns, typed, indexed by row number (the first row is row 2); None when
    the file cannot be read at all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(file)
        text = [
            f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ]
        with pq.ParquetFile(file, read_dictionary=text) as parquet:
            table = parquet.read()
    except (OSError, pa.ArrowException) as error:
        problems.append(Problem(name, None, None, f"not a readable Parquet file: {error}"))
        return None
    columns: dict[str, pd.Series] = {}
    for field, values in zip(table.schema, table.columns, strict=True):
        if field.name in columns:
            problems.append(
                Problem(name, FIRST_ROW - 1, field.name, "column appears twice: keep one")
            )
            continue
        series = _series(values)
        if series is None:
            problems.append(
                Problem(
                    name,
                    FIRST_ROW - 1,
                    field.name,
                    f"Parquet type {field.type} is not supported: store the column as text, "
                    "a number or a boolean",
                )
            )
            continue
        columns[field.name] = series
    frame = pd.DataFrame(columns, copy=False)
    frame.index = pd.RangeIndex(FIRST_ROW, FIRST_ROW + table.num_rows, name="row")
    return frame


def _series(values: Any) -> pd.Series | None:
    """A pandas column for an Arrow column: text as a categorical with object categories,
    numbers as float64 or int64, booleans as the nullable boolean dtype."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if pa.types.is_null(kind):
        codes = np.full(len(values), -1, dtype=np.int8)
        return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index([], dtype=object)))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        series: pd.Series = values.to_pandas()
        return series
    if pa.types.is_boolean(kind):
        booleans: pd.Series = values.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
        return booleans
    if not pa.types.is_dictionary(kind):
        try:
            values = pc.dictionary_encode(pc.cast(values, pa.string()))
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            return None
    elif not pa.types.is_string(kind.value_type) and not pa.types.is_large_string(kind.value_type):
        try:
            values = pc.dictionary_encode(pc.cast(pc.dictionary_decode(values), pa.string()))
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            return None
    return _categorical(values)


def _categorical(values: Any) -> pd.Series:
    """A dictionary-encoded Arrow column as a pandas categorical with sorted object categories
    (so that its codes sort as the text does), without a Python object per cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = values.chunks
    shared = bool(chunks) and all(c.dictionary.equals(chunks[0].dictionary) for c in chunks[1:])
    if not shared:  # each row group has its own dictionary (files from other tools)
        values = values.unify_dictionaries() if chunks else pa.chunked_array([], values.type)
        chunks = values.chunks
    dictionary = chunks[0].dictionary if chunks else pa.array([], type=pa.string())
    indices = pa.chunked_array([c.indices for c in chunks], type=values.type.index_type)
    codes = pc.fill_null(indices, -1).to_numpy() if len(indices) else np.zeros(0, np.int32)
    if dictionary.null_count or len(pc.unique(dictionary)) < len(dictionary):
        # nulls or repeats in the dictionary (rare): encode the text afresh
        text = pc.take(dictionary, pa.array(codes, mask=codes < 0))
        return _categorical(pa.chunked_array([pc.dictionary_encode(text)]))
    if len(dictionary) > 1 and not pc.all(pc.less(dictionary[:-1], dictionary[1:])).as_py():
        order = _sort_order(dictionary)
        rank = np.empty(len(order) + 1, dtype=np.int64)
        rank[order] = np.arange(len(order))
        rank[-1] = -1
        dictionary, codes = dictionary.take(pa.array(order)), rank[codes]
    categories = pd.Index(dictionary.to_numpy(zero_copy_only=False), dtype=object)
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories, validate=False))


def _sort_order(text: Any) -> np.ndarray:
    """The order that sorts an Arrow string array (by UTF-8 bytes, which is code point order,
    as Python sorts text), in C++ rather than by Python comparisons."""
    import pyarrow.compute as pc

    order: np.ndarray = pc.array_sort_indices(text).to_numpy()
    return order


def write_parquet_table(economy: Economy, table: Table, file: Path) -> None:
    """Write a table with each column in the Arrow type of its schema type, text
    dictionary-encoded with a sorted dictionary. Reference and enum columns take their codes
    from the economy's positions (no text is hashed): the dictionary of a reference column is
    every id of the table it references."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = economy.tables[table.name]
    arrays = []
    for column in table.columns:
        if column.type in ARROW_TYPES:
            kind = pa.from_numpy_dtype(np.dtype(ARROW_TYPES[column.type]))
            arrays.append(pa.array(frame[column.name], type=kind, from_pandas=True))
        elif column.references is not None or column.type == "enum":
            among = economy.ids(column.references) if column.references else list(column.values)
            codes = economy.positions(table.name, column.name)
            arrays.append(_dictionary_array(codes, pa.array(among, type=pa.string())))
        else:
            text = pa.array(
                frame[column.name].to_numpy(dtype=object), pa.string(), from_pandas=True
            )
            encoded = text.dictionary_encode()
            codes = pc_fill(encoded.indices)
            arrays.append(_dictionary_array(codes, encoded.dictionary))
    text = [c.name for c in table.columns if c.type not in ARROW_TYPES]
    pq.write_table(
        pa.table(arrays, names=list(table.column_names)),
        file,
        compression="zstd",
        use_dictionary=text,  # numbers rarely repeat: a dictionary only costs time there
        row_group_size=ROW_GROUP_SIZE,
    )


def _dictionary_array(codes: np.ndarray, dictionary: Any) -> Any:
    """Codes (-1: missing) into ``dictionary`` as an Arrow dictionary array whose dictionary
    is sorted, so that the reader needs no sort to make codes sort as the text does."""
    import pyarrow as pa

    order = _sort_order(dictionary)
    if not np.array_equal(order, np.arange(len(order))):
        rank = np.empty(len(order) + 1, dtype=np.int64)
        rank[order] = np.arange(len(order))
        rank[-1] = -1
        codes, dictionary = rank[codes], dictionary.take(pa.array(order))
    indices = pa.array(codes.astype(np.int32), type=pa.int32(), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def pc_fill(indices: Any) -> np.ndarray:
    import pyarrow.compute as pc

    filled: np.ndarray = pc.fill_null(indices, -1).to_numpy()
    return filled

"""Reading data and writing files, with no TensorFlow.

* :mod:`.tables`: the rows of CSV, TSV, JSON Lines and Parquet files, as strings, with located errors;
* :mod:`.labeled`: labeled rows, and the one home of the rules for unusable rows (:class:`~.labeled.RowPolicy`);
* :mod:`.streaming`: training files larger than memory (one scan, then epochs streamed from disk);
* :mod:`.files`: writing files and folders atomically (the only module that does);
* :mod:`.csv_output`: CSV written for people (the spreadsheet-safe prefix, the number format).
"""

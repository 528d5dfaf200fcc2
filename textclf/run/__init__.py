"""The run directory: the only code that knows its file names.

* :mod:`.layout`: the file names, size caps and checkpoint folder names;
* :mod:`.directory`: creating a run, saving a finished one, verifying one against its manifest and loading it;
* :mod:`.checkpoints`: the checkpoints a resume continues from;
* :mod:`.outputs`: the one check that decides whether a command may write to a path;
* :mod:`.listing`: ``textclf runs`` and ``textclf show``, from the small files only (no TensorFlow).
"""

"""Executes notebooks with nbclient through the installed "rain" kernelspec, as papermill does,
and writes each executed notebook to OUTDIR under the same name. Errors are allowed only in cells
tagged raises-exception (nbclient's own rule); the checks of the outputs are in the Go test.

Usage: execute.py OUTDIR NOTEBOOK...   (run by notebooks/notebooks_test.go)
"""

import os
import sys
import time

import nbclient
import nbformat


def main(outdir, paths):
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.monotonic()
        client = nbclient.NotebookClient(
            nb, timeout=60, kernel_name="rain",
            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        try:
            client.execute()
        finally:
            nbformat.write(nb, os.path.join(outdir, os.path.basename(path)))
        print(f"{path}: {len(nb.cells)} cells in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

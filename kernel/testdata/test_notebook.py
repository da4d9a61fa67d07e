"""Executes a small notebook through the installed "rain" kernelspec with nbclient (as
papermill does) and with `jupyter nbconvert --execute`.

Run by kernel/python_test.go.
"""

import os
import subprocess
import sys
import tempfile
import unittest

import nbclient
import nbformat
from nbformat.v4 import new_code_cell, new_notebook

KERNEL = os.environ.get("RAIN_KERNEL_NAME", "rain")


def notebook(*cells):
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Rain", "language": "starlark"}
    return nb


class NotebookTest(unittest.TestCase):
    def test_nbclient(self):
        nb = notebook('print("hello")', "1+2", "display(7)\nclear_output(wait=True)\ndisplay(8)", "x = 5", "x * 2")
        nbclient.NotebookClient(nb, timeout=60, kernel_name=KERNEL).execute()
        out = [c.outputs for c in nb.cells]
        self.assertEqual(out[0][0]["output_type"], "stream")
        self.assertEqual(out[0][0]["text"], "hello\n")
        self.assertEqual(out[1][0]["output_type"], "execute_result")
        self.assertEqual(out[1][0]["data"]["text/plain"], "3")
        self.assertEqual(out[1][0]["execution_count"], 2)
        # clear_output(wait=True) then display: only the last display is left.
        self.assertEqual([o["data"]["text/plain"] for o in out[2]], ["8"])
        self.assertEqual(out[4][0]["data"]["text/plain"], "10")
        self.assertEqual(nb.metadata["language_info"]["name"], "starlark")

    def test_nbclient_error_and_no_stdin(self):
        # nbclient does not allow stdin: input() fails with an error, it does not hang.
        nb = notebook('input("name? ")')
        with self.assertRaises(nbclient.exceptions.CellExecutionError):
            nbclient.NotebookClient(nb, timeout=30, kernel_name=KERNEL).execute()
        nb = notebook("1 // 0", "2 + 2")
        nbclient.NotebookClient(nb, timeout=30, kernel_name=KERNEL, allow_errors=True).execute()
        self.assertEqual(nb.cells[0].outputs[0]["output_type"], "error")
        self.assertEqual(nb.cells[1].outputs[0]["data"]["text/plain"], "4")

    def test_nbconvert_execute(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "n.ipynb")
            nbformat.write(notebook('print("from nbconvert")', "6 * 7"), path)
            run = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace", path],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 0, run.stderr)
            nb = nbformat.read(path, as_version=4)
            self.assertEqual(nb.cells[0].outputs[0]["text"], "from nbconvert\n")
            self.assertEqual(nb.cells[1].outputs[0]["data"]["text/plain"], "42")


if __name__ == "__main__":
    unittest.main(verbosity=2)

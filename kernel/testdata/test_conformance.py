"""The Jupyter kernel conformance suite (jupyter_kernel_test) against the Rain kernel.

Run by kernel/python_test.go; every test must pass, none may be skipped.
"""

import os
import unittest

import jupyter_kernel_test as jkt

EXAMPLES = os.environ.get("RAIN_EXAMPLES", "examples")


class RainKernelTests(jkt.KernelTests):
    kernel_name = os.environ.get("RAIN_KERNEL_NAME", "rain")

    language_name = "starlark"
    file_extension = ".star"

    code_hello_world = 'print("hello, world")'
    # WASI stderr of a Wasm call arrives as a stderr stream.
    code_stderr = "%%load %s/hello.wasm as hello\nhello.greet(1)" % EXAMPLES

    completion_samples = [{"text": "clear_out", "matches": {"clear_output"}}]

    complete_code_samples = ["1", 'print("hello, world")', "def f(x):\n    return x\n\n", "%help"]
    incomplete_code_samples = ["def f(x):", "(1,", "for i in range(3):\n    print(i)"]
    invalid_code_samples = ["1 +* 2", "x = )"]

    code_page_something = "%help"

    code_generate_error = "1 // 0"

    code_execute_result = [
        {"code": "1+2", "result": "3"},
        {"code": '"rain" * 2', "result": '"rainrain"'},
    ]
    code_display_data = [{"code": "display(42)", "mime": "text/plain"}]

    code_history_pattern = "1+2"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "print"

    code_clear_output = "clear_output()"


if __name__ == "__main__":
    unittest.main(verbosity=2)

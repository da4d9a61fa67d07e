"""Drives the Rain kernel with jupyter_client, as notebook servers and nbclient do.

Run by kernel/python_test.go with Debian's python3 and JUPYTER_PATH pointing at a temporary
kernelspec; RAIN_KERNEL_NAME names it, RAIN_EXAMPLES is the examples directory.
"""

import os
import queue
import shutil
import signal
import time
import unittest

from jupyter_client.manager import KernelManager
from jupyter_client.session import Session
from jupyter_client.utils import run_sync

KERNEL = os.environ.get("RAIN_KERNEL_NAME", "rain")
EXAMPLES = os.environ.get("RAIN_EXAMPLES", "examples")
TIMEOUT = 20

# A module whose run() writes "tick" to WASI stdout, then loops forever.
PRINT_SPIN_WAT = """%%wat printspin
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "tick\\n")
  (func (export "run")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $l (br $l))))
"""


class KernelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km = KernelManager(kernel_name=KERNEL)
        start = time.monotonic()
        cls.km.start_kernel()
        cls.kc = cls.km.client()
        cls.kc.start_channels()
        cls.kc.wait_for_ready(timeout=TIMEOUT)
        cls.ready_after = time.monotonic() - start

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        if cls.km.is_alive():
            cls.km.shutdown_kernel(now=False)

    def setUp(self):
        self.flush()

    def flush(self):
        for ch in (self.kc.shell_channel, self.kc.iopub_channel, self.kc.stdin_channel):
            while True:
                try:
                    run_sync(ch.get_msg)(timeout=0.05)
                except queue.Empty:
                    break

    def reply(self, msg_id, channel=None, timeout=TIMEOUT):
        channel = channel or self.kc.shell_channel
        deadline = time.monotonic() + timeout
        while True:
            msg = run_sync(channel.get_msg)(timeout=max(deadline - time.monotonic(), 0.01))
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    def iopub(self, msg_id, timeout=TIMEOUT):
        """The iopub messages of a request, up to its status idle."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.01))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            out.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out

    def run_cell(self, code, **kw):
        msg_id = self.kc.execute(code, **kw)
        reply = self.reply(msg_id)
        return reply, self.iopub(msg_id)

    @staticmethod
    def kinds(msgs):
        return [m["msg_type"] + (":" + m["content"]["execution_state"] if m["msg_type"] == "status" else "")
                for m in msgs]

    # --- the tests, in the order a user meets them -------------------------------------

    def test_00_ready_quickly(self):
        self.assertLess(self.ready_after, 5, "kernel_info took %.2fs" % self.ready_after)

    def test_kernel_info(self):
        msg_id = self.kc.kernel_info()
        reply = self.reply(msg_id)
        c = reply["content"]
        self.assertEqual(c["status"], "ok")
        self.assertEqual(c["protocol_version"], "5.3")
        self.assertEqual(c["implementation"], "rain")
        self.assertEqual(c["language_info"]["file_extension"], ".star")
        self.assertEqual(c["language_info"]["pygments_lexer"], "python")
        self.assertTrue(c["banner"])
        self.assertTrue(c["help_links"])
        self.assertEqual(reply["header"]["version"], "5.3")
        self.assertEqual(self.kinds(self.iopub(msg_id)), ["status:busy", "status:idle"])

    def test_execute_order_and_count(self):
        reply, msgs = self.run_cell("1+2")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(self.kinds(msgs), ["status:busy", "execute_input", "execute_result", "status:idle"])
        result = msgs[2]["content"]
        self.assertEqual(result["data"]["text/plain"], "3")
        self.assertEqual(result["execution_count"], reply["content"]["execution_count"])
        n = reply["content"]["execution_count"]
        reply, _ = self.run_cell("x = 1")
        self.assertEqual(reply["content"]["execution_count"], n + 1)
        reply, _ = self.run_cell("x", store_history=False)
        self.assertEqual(reply["content"]["execution_count"], n + 1)
        reply, msgs = self.run_cell("x", silent=True)
        self.assertEqual(self.kinds(msgs), ["status:busy", "status:idle"])

    def test_stream(self):
        reply, msgs = self.run_cell('print("hello, world")')
        self.assertEqual(reply["content"]["status"], "ok")
        streams = [m["content"] for m in msgs if m["msg_type"] == "stream"]
        self.assertEqual(streams, [{"name": "stdout", "text": "hello, world\n"}])

    def test_error(self):
        reply, msgs = self.run_cell("1 // 0")
        c = reply["content"]
        self.assertEqual(c["status"], "error")
        self.assertTrue(c["ename"])
        self.assertTrue(c["traceback"])
        self.assertEqual(self.kinds(msgs), ["status:busy", "execute_input", "error", "status:idle"])
        self.assertEqual(msgs[2]["content"]["ename"], c["ename"])

    def test_display_and_clear(self):
        reply, msgs = self.run_cell('display(1)\nclear_output(wait=True)\ndisplay("two")')
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(self.kinds(msgs),
                         ["status:busy", "execute_input", "display_data", "clear_output", "display_data", "status:idle"])
        self.assertTrue(msgs[3]["content"]["wait"])

    def test_user_expressions(self):
        msg_id = self.kc.execute("y = 40", user_expressions={"a": "y + 2", "b": "nope"})
        c = self.reply(msg_id)["content"]
        self.assertEqual(c["user_expressions"]["a"]["status"], "ok")
        self.assertEqual(c["user_expressions"]["a"]["data"]["text/plain"], "42")
        self.assertEqual(c["user_expressions"]["b"]["status"], "error")

    def test_complete(self):
        self.run_cell("longname_for_completion = 1")
        code = "x = longname_f"
        reply = self.reply(self.kc.complete(code, len(code)))["content"]
        self.assertEqual(reply["status"], "ok")
        self.assertIn("longname_for_completion", reply["matches"])
        self.assertEqual(reply["cursor_end"], len(code))
        self.assertEqual(reply["cursor_start"], len("x = "))
        # Code points, not bytes: a non-ASCII prefix shifts nothing.
        code = "s = 'π'; longname_f"
        reply = self.reply(self.kc.complete(code, len(code)))["content"]
        self.assertEqual(reply["cursor_start"], code.index("longname_f"))
        self.assertEqual(reply["cursor_end"], len(code))

    def test_inspect(self):
        reply = self.reply(self.kc.inspect("print", 3))["content"]
        self.assertEqual(reply["status"], "ok")
        self.assertTrue(reply["found"])
        self.assertIn("text/plain", reply["data"])

    def test_is_complete(self):
        for code, status in [("1+2", "complete"), ("def f():", "incomplete"), ("(1,", "incomplete"),
                             ("1 +* 2", "invalid")]:
            with self.subTest(code=code):
                reply = self.reply(self.kc.is_complete(code))["content"]
                self.assertEqual(reply["status"], status)
                if status == "incomplete":
                    self.assertIn("indent", reply)

    def test_history(self):
        self.run_cell("history_marker = 7")
        reply = self.reply(self.kc.history(hist_access_type="tail", n=1, output=False, raw=True))["content"]
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(reply["history"][-1][2], "history_marker = 7")
        session, line = reply["history"][-1][:2]
        reply = self.reply(self.kc.history(hist_access_type="range", session=session, start=line, stop=line + 1,
                                           output=False, raw=True))["content"]
        self.assertEqual([h[2] for h in reply["history"]], ["history_marker = 7"])
        reply = self.reply(self.kc.history(hist_access_type="search", pattern="history_marker*", output=False,
                                           raw=True))["content"]
        self.assertTrue(reply["history"])

    def test_comms(self):
        reply = self.reply(self.kc.comm_info())["content"]
        self.assertEqual(reply, {"status": "ok", "comms": {}})
        msg = self.kc.session.msg("comm_open", {"comm_id": "c-1", "target_name": "nothing", "data": {}})
        self.kc.shell_channel.send(msg)
        kinds = self.kinds(self.iopub(msg["header"]["msg_id"]))
        self.assertEqual(kinds, ["status:busy", "comm_close", "status:idle"])

    def test_bad_signature_ignored(self):
        bad = Session(key=b"not-the-key", session=self.kc.session.session, username="x")
        msg = bad.msg("kernel_info_request", {})
        bad.send(self.kc.shell_channel.socket, msg)
        with self.assertRaises(queue.Empty):
            self.reply(msg["header"]["msg_id"], timeout=0.5)
        # The kernel lives on and answers properly signed requests.
        self.assertEqual(self.reply(self.kc.kernel_info())["content"]["status"], "ok")

    def test_stdin_round_trip(self):
        msg_id = self.kc.execute('answer = input("name? ")', allow_stdin=True)
        req = self.kc.get_stdin_msg(timeout=TIMEOUT)
        self.assertEqual(req["msg_type"], "input_request")
        self.assertEqual(req["content"]["prompt"], "name? ")
        self.assertEqual(req["parent_header"]["msg_id"], msg_id)
        self.kc.input("rain")
        self.assertEqual(self.reply(msg_id)["content"]["status"], "ok")
        _, msgs = self.run_cell("answer")
        self.assertEqual(msgs[2]["content"]["data"]["text/plain"], '"rain"')

    def test_no_stdin_when_not_allowed(self):
        reply, _ = self.run_cell('input("name? ")', allow_stdin=False)
        self.assertEqual(reply["content"]["status"], "error")
        with self.assertRaises(queue.Empty):
            self.kc.get_stdin_msg(timeout=0.3)

    def wait_running(self, msg_id):
        """Wait for the cell's execute_input: from then on it can be interrupted."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.01))
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
                return

    def interrupt_loop(self, interrupt):
        msg_id = self.kc.execute("while True:\n    pass\n")
        self.wait_running(msg_id)
        start = time.monotonic()
        interrupt()
        reply = self.reply(msg_id, timeout=5)
        took = time.monotonic() - start
        self.assertEqual(reply["content"]["status"], "error")
        self.assertLess(took, 1.0, "stopped %.2fs after the interrupt" % took)
        reply, msgs = self.run_cell("1+2")
        self.assertEqual(reply["content"]["status"], "ok")

    def test_interrupt_message(self):
        self.assertEqual(self.km.kernel_spec.interrupt_mode, "message")
        self.interrupt_loop(self.km.interrupt_kernel)

    def test_zy_interrupt_sigint(self):
        # Runs late: jupyter_client signals the kernel's whole process group.
        self.interrupt_loop(lambda: self.km.signal_kernel(signal.SIGINT))
        # The local nodes are in that group too; they must survive the SIGINT.
        reply, msgs = self.run_cell("%%load %s as b2\nb2.add(1, 1)" % os.path.join(EXAMPLES, "basics.wasm"))
        self.assertEqual(reply["content"]["status"], "ok",
                         "local nodes must survive a SIGINT to the kernel's process group: %s" % reply["content"])

    def test_interrupt_wasm(self):
        path = os.path.join(EXAMPLES, "basics.wasm")
        reply, _ = self.run_cell("%%load %s as b" % path)
        if reply["content"]["status"] != "ok":
            self.fail("loading %s: %s" % (path, reply["content"]))
        msg_id = self.kc.execute("b.spin()")
        self.wait_running(msg_id)
        start = time.monotonic()
        self.km.interrupt_kernel()
        reply = self.reply(msg_id, timeout=5)
        took = time.monotonic() - start
        self.assertEqual(reply["content"]["status"], "error")
        self.assertLess(took, 1.0, "stopped %.2fs after the interrupt" % took)
        reply, msgs = self.run_cell("b.add(2, 3)")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(msgs[-2]["content"]["data"]["text/plain"], "5")

    def test_wasm_load_returns_before_the_nodes(self):
        # %load of a 2.5 MB module returns while the nodes still compile it; its display is
        # then updated in place, after the cell, until every node runs compiled code.
        path = os.path.join(EXAMPLES, "gowasm.wasm")
        msg_id = self.kc.execute("%%load %s as go_bg" % path)
        reply = self.reply(msg_id)
        self.assertEqual(reply["content"]["status"], "ok", reply["content"])
        msgs = self.iopub(msg_id)
        shown = [m for m in msgs if m["msg_type"] == "display_data"]
        self.assertEqual(len(shown), 1, self.kinds(msgs))
        display_id = shown[0]["content"]["transient"]["display_id"]
        first = shown[0]["content"]["data"]["text/plain"]
        self.assertNotIn("compiled after", first)
        self.assertIn("<table", shown[0]["content"]["data"]["text/html"])
        text = first
        deadline = time.monotonic() + 60
        while "compiled after" not in text:
            msg = self.kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.01))
            if msg["msg_type"] == "update_display_data":
                self.assertEqual(msg["content"]["transient"]["display_id"], display_id)
                self.assertEqual(msg["parent_header"]["msg_id"], msg_id)
                text = msg["content"]["data"]["text/plain"]
        self.assertIn("go_bg:", text)
        self.assertIn("ready on 2 nodes after", text)
        reply, msgs = self.run_cell("go_bg.collatz(27)")
        self.assertEqual(msgs[-2]["content"]["data"]["text/plain"], "111")

    def test_wasm_output_streams_while_running(self):
        path = os.path.join(EXAMPLES, "hello.wasm")
        reply, _ = self.run_cell("%%load %s as hello" % path)
        self.assertEqual(reply["content"]["status"], "ok", reply["content"])
        reply, msgs = self.run_cell("hello.greet(2)")
        self.assertEqual(reply["content"]["status"], "ok", reply["content"])
        text = {"stdout": "", "stderr": ""}
        for m in msgs:
            if m["msg_type"] == "stream":
                text[m["content"]["name"]] += m["content"]["text"]
        self.assertEqual(text["stdout"], "hello 1 from wasm\nhello 2 from wasm\n")
        self.assertEqual(text["stderr"], "greeted 2 times\n")

    def test_wasm_output_streams_during_the_call(self):
        # A call that prints, then never returns: its output must arrive while it runs.
        if not shutil.which("wat2wasm"):
            if os.environ.get("CI"):
                self.fail("wat2wasm missing (scripts/install-deps installs wabt)")
            self.skipTest("wat2wasm missing")
        reply, _ = self.run_cell(PRINT_SPIN_WAT)
        self.assertEqual(reply["content"]["status"], "ok", reply["content"])
        msg_id = self.kc.execute("printspin.run()")
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.01))
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                break
        self.assertEqual(msg["content"], {"name": "stdout", "text": "tick\n"})
        with self.assertRaises(queue.Empty):  # the call is still running
            self.reply(msg_id, timeout=0.2)
        self.km.interrupt_kernel()
        self.assertEqual(self.reply(msg_id, timeout=5)["content"]["status"], "error")

    def test_zz_restart_then_shutdown(self):
        self.run_cell("kept = 1")
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=TIMEOUT)
        self.flush()
        reply, msgs = self.run_cell("1+2")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(reply["content"]["execution_count"], 1, "a restarted kernel counts from 1")
        reply, _ = self.run_cell("kept")
        self.assertEqual(reply["content"]["status"], "error", "state survived a restart")
        # A clean shutdown: the kernel exits by itself, well before jupyter_client's SIGTERM.
        proc = self.km.provisioner.process
        start = time.monotonic()
        self.km.request_shutdown()
        self.km.finish_shutdown(waittime=10)
        took = time.monotonic() - start
        self.assertFalse(self.km.is_alive())
        self.assertLess(took, 2.5, "shutdown took %.2fs: the kernel was killed" % took)
        self.assertEqual(proc.wait(timeout=1), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

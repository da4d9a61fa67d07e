// The AssemblyScript compiler of Rain's %%ts cells, kept running by a session so that it loads
// once (session/resident.go). Each line on standard input is {"dir": DIR, "args": [...]}: asc's
// arguments, with files relative to DIR. Each answer is one line on standard output,
// {"status": N, "output": "..."}: 0 or 1, and what asc printed. It ends with its input.
import asc from "assemblyscript/asc";
import { createInterface } from "node:readline";

for await (const line of createInterface({ input: process.stdin })) {
  let reply;
  try {
    const { dir, args } = JSON.parse(line);
    const { error, stdout, stderr } = await asc.main(["--baseDir", dir, ...args]);
    reply = { status: error ? 1 : 0, output: stdout.toString() + stderr.toString() };
  } catch (e) {
    reply = { status: 1, output: String((e && e.stack) || e) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}

"""Running the top-level scripts as a user would, in a subprocess."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_script(script, *args, timeout=300, preexec_fn=None):
  """Runs `python script args...` from the repository root; returns the CompletedProcess.
  preexec_fn: run in the child before the script (e.g. to set a resource limit)."""
  return subprocess.run([sys.executable, os.path.join(ROOT, script)] + list(args), cwd=ROOT,
                        capture_output=True, text=True, timeout=timeout, preexec_fn=preexec_fn)


def start_script(script, *args):
  return subprocess.Popen([sys.executable, os.path.join(ROOT, script)] + list(args), cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def assert_one_line_error(result, *fragments):
  """Exit status 2, one 'error: ...' line on stderr naming the fragments, no traceback."""
  assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
  assert 'Traceback' not in result.stderr
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert len(lines) == 1 and lines[0].startswith('error: '), result.stderr
  for fragment in fragments:
    assert fragment in lines[0], (fragment, lines[0])

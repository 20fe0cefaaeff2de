"""A command run as a user runs it, in a subprocess, and what it cost: wall and CPU time, peak
resident memory, and its console (lines, the longest, bytes). No TensorFlow here: the process
that measures stays small, so nothing of it counts in its children's figures."""
import collections
import os
import signal
import subprocess
import time

PAGE_SIZE = os.sysconf('SC_PAGE_SIZE')


def _parents(proc='/proc'):
  """{pid: parent pid} of the processes running now (those that vanish while read are left out)."""
  parents = {}
  for entry in os.listdir(proc):
    if not entry.isdigit():
      continue
    try:
      with open(os.path.join(proc, entry, 'stat')) as f:
        stat = f.read()
    except OSError:
      continue
    # The command name, in parentheses, may hold spaces; the parent pid is the 2nd field after.
    parents[int(entry)] = int(stat.rsplit(')', 1)[1].split()[1])
  return parents


def process_tree(pid, proc='/proc'):
  """pid and every process descending from it, as they are now."""
  children = collections.defaultdict(list)
  for child, parent in _parents(proc).items():
    children[parent].append(child)
  tree, todo = [], [pid]
  while todo:
    current = todo.pop()
    tree.append(current)
    todo.extend(children.get(current, ()))
  return tree


def resident_bytes(pid, proc='/proc'):
  """The resident set of pid now (statm), 0 when it is gone."""
  try:
    with open(os.path.join(proc, str(pid), 'statm')) as f:
      return int(f.read().split()[1]) * PAGE_SIZE
  except (OSError, IndexError, ValueError):
    return 0


def tree_resident_bytes(pid, proc='/proc'):
  """The summed resident sets of pid and its descendants now."""
  return sum(resident_bytes(p, proc) for p in process_tree(pid, proc))


def console_figures(*paths):
  """Lines, the longest line (characters) and bytes of the files a command's stdout and stderr
  went to, taken together; also the longest line itself, cut to 200 characters."""
  lines, longest, size, longest_text = 0, 0, 0, ''
  for path in paths:
    with open(path, 'rb') as f:
      data = f.read()
    size += len(data)
    for line in data.decode('utf-8', 'replace').splitlines():
      lines += 1
      if len(line) > longest:
        longest, longest_text = len(line), line[:200]
  return {'console_lines': lines, 'longest_line': longest, 'console_bytes': size,
          'longest_line_text': longest_text}


def _stop(pid):
  """Kills the process group the command leads (started in a session of its own), while the
  command is alive: its pid, the group's id, is not yet free for another process."""
  try:
    os.killpg(pid, signal.SIGKILL)
  except (ProcessLookupError, PermissionError):
    pass


def measured_run(command, log_prefix, cwd=None, env=None, timeout=1800, max_rss_bytes=0,
                 poll_seconds=0.25, clock=time.perf_counter):
  """Runs command (a list) with stdout and stderr in log_prefix + '.out' and '.err', and returns
  its figures:

    exit_code: the command's exit status (negative: the signal that ended it);
    stopped: why this function killed it ('' when it ended by itself): over max_rss_bytes of
      resident memory (0: no limit) or over timeout seconds;
    seconds: wall time; cpu_seconds: user + system time of the command and its waited children;
    peak_rss_bytes: the high-water mark of the largest process of the command's tree (ru_maxrss
      of wait4: exact, whatever the sampling);
    tree_rss_bytes: the largest sum of the tree's resident sets seen while sampling every
      poll_seconds (counts worker processes together; may miss a peak shorter than a sample);
    and console_figures of its output.
  """
  out_path, err_path = log_prefix + '.out', log_prefix + '.err'
  os.makedirs(os.path.dirname(os.path.abspath(log_prefix)), exist_ok=True)
  start = clock()
  with open(out_path, 'wb') as out, open(err_path, 'wb') as err:
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, start_new_session=True)
  tree_peak, stopped = 0, ''
  while True:
    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
    if pid:
      break
    rss = tree_resident_bytes(child.pid)
    tree_peak = max(tree_peak, rss)
    if not stopped and max_rss_bytes and rss > max_rss_bytes:
      stopped = 'over %.2f GB of resident memory' % (max_rss_bytes / 1e9)
    elif not stopped and timeout and clock() - start > timeout:
      stopped = 'over %d s' % timeout
    if stopped:
      _stop(child.pid)
    time.sleep(poll_seconds)
  child.returncode = os.waitstatus_to_exitcode(status)
  figures = {'command': command, 'exit_code': child.returncode, 'stopped': stopped,
             'seconds': clock() - start, 'cpu_seconds': usage.ru_utime + usage.ru_stime,
             'peak_rss_bytes': usage.ru_maxrss * 1024,
             'tree_rss_bytes': max(tree_peak, usage.ru_maxrss * 1024)}
  figures.update(console_figures(out_path, err_path))
  return figures

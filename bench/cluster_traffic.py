"""Steps/s of train_alexnet.py in one process and as 1 ps + 2 workers (sync replicas) on this
machine's loopback, and the bytes each global step moves per worker (the loopback's counters).

  unshare -n sh -c 'ip link set lo up && python -m bench.cluster_traffic --steps=10 -- <flags>'

Run it in its own network namespace (unshare -n, as root), so that the loopback counts only this
cluster's traffic. The flags are train_alexnet.py's, without --train_dir/--max_number_of_steps.
"""
import io
import re
import subprocess
import sys
import tempfile

from training import local_cluster

_STEP_LINE = re.compile(r'step (\d+)/\d+ .* ([\d.]+) images/s')


def loopback_bytes():
  """Bytes sent over this network namespace's loopback so far (/proc, not /sys: sysfs shows the
  namespace it was mounted in)."""
  with open('/proc/self/net/dev') as f:
    for line in f:
      name, _, fields = line.partition(':')
      if name.strip() == 'lo':
        return int(fields.split()[8])  # receive: 8 fields, then transmit bytes
  raise RuntimeError('no loopback interface in /proc/self/net/dev')


def last_rate(text):
  """The images/s of the last progress line (the rate of its last --log_every_n_steps)."""
  rates = [float(m.group(2)) for m in _STEP_LINE.finditer(text)]
  return rates[-1] if rates else None


def run_cluster(flags, train_dir, steps):
  """(loopback bytes, the chief's last images/s) of 1 ps + 2 workers training to `steps`."""
  out = io.StringIO()
  cluster = local_cluster.LocalCluster(2, 1, local_cluster.DEFAULT_SCRIPT, flags + [
      '--train_dir=%s' % train_dir, '--max_number_of_steps=%d' % steps, '--sync_replicas'],
                                       out=out)
  start = loopback_bytes()
  try:
    cluster.start()
    status = cluster.wait(timeout=1800)
  finally:
    cluster.kill()
  if status != 0:
    raise SystemExit('the cluster failed:\n' + out.getvalue()[-3000:])
  chief = '\n'.join(line for line in out.getvalue().splitlines()
                    if line.startswith('[worker 0]'))
  return loopback_bytes() - start, last_rate(chief)


def main(argv):
  """--steps=N: the cluster trains to N and to 2N steps; the difference is N steps' traffic."""
  steps = int(next(a.split('=', 1)[1] for a in argv if a.startswith('--steps=')))
  flags = argv[argv.index('--') + 1:]
  with tempfile.TemporaryDirectory() as folder:
    one = subprocess.run([sys.executable, local_cluster.DEFAULT_SCRIPT,
                          '--train_dir=%s/one' % folder, '--max_number_of_steps=%d' % steps]
                         + flags, capture_output=True, text=True, check=True)
    short, _ = run_cluster(flags, folder + '/short', steps)
    long, rate = run_cluster(flags, folder + '/long', 2 * steps)
  print('one process: %s images/s (its last progress line)' % last_rate(one.stderr))
  print('1 ps + 2 workers, sync: %s images/s (the chief\'s last progress line)' % rate)
  print('loopback bytes of %d global steps: %.1f MB, %.1f MB per step per worker'
        % (steps, (long - short) / 1e6, (long - short) / 1e6 / steps / 2))


if __name__ == '__main__':
  main(sys.argv[1:])

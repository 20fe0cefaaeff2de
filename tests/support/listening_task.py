"""One task of a cluster for tests/e2e/test_cluster.py, run by training.local_cluster: starts
its server as the trainer does (cluster.start_server, its role from TF_CONFIG), says so, and
waits to be ended, so that a test can see where the tasks listen.

  python tests/support/listening_task.py
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from training import cluster as cluster_lib  # noqa: E402
from training import cluster_roles  # noqa: E402

WAIT_SECS = 300  # the test ends it (by its PID) long before


def main():
  roles = cluster_roles.resolve(tf_config=os.environ['TF_CONFIG'])
  server = cluster_lib.start_server(roles)
  print('listening on port %d' % roles.port, flush=True)
  time.sleep(WAIT_SECS)
  del server
  return 0


if __name__ == '__main__':
  sys.exit(main())

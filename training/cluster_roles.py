"""This process's role in a cluster (a Cluster: ps or worker, its task, the hosts), from
--job_name/--task/--ps_hosts/--worker_hosts or TF_CONFIG (`resolve`), without TensorFlow: the
training config names it (cli reads that before TensorFlow loads); training.cluster runs it.
"""
import dataclasses
import json
import re
from typing import Tuple

from base import UserError

JOBS = ('ps', 'worker')
_HOST_PORT = re.compile(r'^[A-Za-z0-9_.\-\[\]:]+:(\d{1,5})$')


@dataclasses.dataclass(frozen=True)
class Cluster:
  """This process's role in a cluster of ps and worker tasks."""
  job_name: str              # 'ps' or 'worker'
  task_index: int
  ps_hosts: Tuple[str, ...]
  worker_hosts: Tuple[str, ...]

  @property
  def is_chief(self):
    return self.job_name == 'worker' and self.task_index == 0

  @property
  def num_workers(self):
    return len(self.worker_hosts)

  @property
  def num_ps(self):
    return len(self.ps_hosts)

  @property
  def address(self):
    """This task's host:port."""
    return (self.ps_hosts if self.job_name == 'ps' else self.worker_hosts)[self.task_index]

  @property
  def port(self):
    return int(self.address.rsplit(':', 1)[1])

  @property
  def device(self):
    return '/job:%s/task:%d' % (self.job_name, self.task_index)

  def describe(self):
    return '%s %d of %d ps + %d workers%s' % (
        self.job_name, self.task_index, self.num_ps, self.num_workers,
        ' (chief)' if self.is_chief else '')


def _check_hosts(hosts, name):
  hosts = tuple(h.strip() for h in hosts if h.strip())
  if not hosts:
    raise UserError('%s lists no host:port' % name)
  for host in hosts:
    found = _HOST_PORT.match(host)
    if not found or not 1 <= int(found.group(1)) <= 65535:
      raise UserError('%s: "%s" is not host:port (a port from 1 to 65535)' % (name, host))
  if len(set(hosts)) != len(hosts):
    raise UserError('%s lists an address twice' % name)
  return hosts


def _make(job_name, task_index, ps_hosts, worker_hosts, source):
  if job_name not in JOBS:
    raise UserError('%s: the job must be ps or worker, got "%s"' % (source, job_name))
  ps_hosts = _check_hosts(ps_hosts, source + ' ps hosts')
  worker_hosts = _check_hosts(worker_hosts, source + ' worker hosts')
  if set(ps_hosts) & set(worker_hosts):
    raise UserError('%s: ps and worker tasks share an address' % source)
  hosts = ps_hosts if job_name == 'ps' else worker_hosts
  if not isinstance(task_index, int) or not 0 <= task_index < len(hosts):
    raise UserError('%s: task %s of job %s does not exist (it has %d task(s))'
                    % (source, task_index, job_name, len(hosts)))
  return Cluster(job_name, task_index, ps_hosts, worker_hosts)


def from_tf_config(text):
  """The Cluster of a TF_CONFIG value ({"cluster": {...}, "task": {"type", "index"}}). A "chief"
  job (TFJob's Chief replica) is worker 0, its workers follow; "environment" is ignored."""
  source = 'TF_CONFIG'
  try:
    config = json.loads(text)
  except ValueError as e:
    raise UserError('TF_CONFIG is not JSON (%s)' % e) from None
  if not isinstance(config, dict):
    raise UserError('TF_CONFIG must be a JSON object with "cluster" and "task"')
  spec, task = config.get('cluster'), config.get('task')
  if not isinstance(spec, dict) or not isinstance(task, dict):
    raise UserError('TF_CONFIG needs a "cluster" object and a "task" object, got %s'
                    % (', '.join('"%s"' % key for key in sorted(config)) or 'neither'))
  for job, hosts in spec.items():
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
      raise UserError('TF_CONFIG cluster job "%s" must be a list of "host:port" strings' % job)
  unknown = set(spec) - {'ps', 'worker', 'chief', 'evaluator'}
  if unknown:
    raise UserError('TF_CONFIG names job(s) %s; this trainer knows chief, worker, ps, evaluator'
                    % ', '.join(sorted(unknown)))
  task_type, index = task.get('type'), task.get('index', 0)
  if task_type == 'evaluator':
    raise UserError('TF_CONFIG makes this task the evaluator: run eval_alexnet.py there')
  if not isinstance(index, int) or isinstance(index, bool):
    raise UserError('TF_CONFIG task index must be an integer, got %r' % (index,))
  chief, workers = spec.get('chief', []), spec.get('worker', [])
  if len(chief) > 1:
    raise UserError('TF_CONFIG lists %d chiefs; there can be one' % len(chief))
  if task_type in ('chief', 'worker'):
    hosts = chief if task_type == 'chief' else workers
    if not 0 <= index < len(hosts):
      raise UserError('TF_CONFIG: task %d of job %s does not exist (it has %d task(s))'
                      % (index, task_type, len(hosts)))
    task_type, index = 'worker', index + (len(chief) if task_type == 'worker' else 0)
  return _make(task_type, index, spec.get('ps', []), chief + workers, source)


def resolve(job_name='', task_index=0, ps_hosts=(), worker_hosts=(), tf_config=None):
  """The Cluster of this process, or None for a single process. The flags win over TF_CONFIG
  (`tf_config`: its text, or None); UserError (one line) for roles that cannot work."""
  if job_name or ps_hosts or worker_hosts or task_index:  # (--task alone: not ignored)
    missing = [name for name, value in (('--job_name', job_name), ('--ps_hosts', ps_hosts),
                                        ('--worker_hosts', worker_hosts)) if not value]
    if missing:
      raise UserError('a cluster needs --job_name, --ps_hosts and --worker_hosts; missing %s'
                      % ', '.join(missing))
    return _make(job_name, task_index, ps_hosts, worker_hosts, '--job_name/--task')
  if tf_config and tf_config.strip():
    return from_tf_config(tf_config)
  return None


def replicas_to_aggregate(cluster, requested):
  """--replicas_to_aggregate, where 0 means every worker."""
  if requested < 0:
    raise UserError('--replicas_to_aggregate must be >= 0 (0: every worker), got %d' % requested)
  return requested or cluster.num_workers

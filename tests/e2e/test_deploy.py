"""deploy/: the TFJob, storage and network policy manifests (JSON, which kubectl reads as YAML)
parse, their commands are the scripts' real flags, the TF_CONFIG the training operator gives each
replica resolves to the roles train_alexnet.py expects, and only the job's pods reach its
ports."""
import json
import os
import subprocess
import sys

import pytest

from base import UserError
from support.scripts import ROOT
from training import cluster_roles

DEPLOY = os.path.join(ROOT, 'deploy')
NAMESPACE = 'research'
JOB_NAME_LABEL = 'training.kubeflow.org/job-name'  # the operator's label on every pod of a job


def load(name):
  with open(os.path.join(DEPLOY, name)) as f:
    return json.load(f)


def pod_specs():
  """{name: pod spec} of every pod the manifests make."""
  specs = {'Job/' + item['metadata']['name']: item['spec']['template']['spec']
           for item in load('storage.json')['items'] if item['kind'] == 'Job'}
  for kind, replica in load('tfjob.json')['spec']['tfReplicaSpecs'].items():
    specs['TFJob/' + kind] = replica['template']['spec']
  return specs


def test_the_tfjob_has_ps_worker_and_evaluator_replicas_on_one_shared_volume():
  job = load('tfjob.json')
  assert (job['apiVersion'], job['kind']) == ('kubeflow.org/v1', 'TFJob')
  replicas = job['spec']['tfReplicaSpecs']
  assert set(replicas) == {'PS', 'Worker', 'Evaluator'}
  assert {r['restartPolicy'] for r in replicas.values()} == {'OnFailure'}
  assert replicas['Worker']['replicas'] >= 2
  claims = [item for item in load('storage.json')['items']
            if item['kind'] == 'PersistentVolumeClaim']
  assert len(claims) == 1 and claims[0]['spec']['accessModes'] == ['ReadWriteMany']
  for name, spec in pod_specs().items():
    volumes = {v['name']: v['persistentVolumeClaim']['claimName'] for v in spec['volumes']}
    for container in spec['containers']:
      for mount in container['volumeMounts']:
        assert volumes[mount['name']] == claims[0]['metadata']['name'], name


# Each script's flags, defined by importing it (after the previous script's are removed: they
# share names), parse the command's arguments: an unknown flag or a bad value fails.
_PARSE = '''
import importlib, json, sys
from absl import flags
for module, args in json.loads(sys.argv[1]):
  for name in list(flags.FLAGS):
    delattr(flags.FLAGS, name)
  importlib.import_module(module)
  flags.FLAGS([module + '.py'] + args)
  print('parsed', module)
'''


def test_every_command_is_a_script_with_its_real_flags():
  commands = {json.dumps(c['command'])
              for spec in pod_specs().values() for c in spec['containers']}
  checks = []
  for command in sorted(commands):
    python, script, *args = json.loads(command)
    assert python == 'python' and os.path.isfile(os.path.join(ROOT, script)), command
    checks.append((os.path.splitext(script)[0], args))
  assert {module for module, _ in checks} == {'train_alexnet', 'eval_alexnet',
                                             'download_and_convert_flowers'}
  result = subprocess.run([sys.executable, '-c', _PARSE, json.dumps(checks)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-1500:]
  assert result.stdout.count('parsed') == len(checks), result.stdout


def operator_tf_config(job_name, replicas, task_type, index):
  """The TF_CONFIG Kubeflow's training operator sets in a replica's pod."""
  spec = {kind.lower(): ['%s-%s-%d.%s.svc:2222' % (job_name, kind.lower(), i, NAMESPACE)
                         for i in range(replicas[kind]['replicas'])]
          for kind in replicas if kind != 'Evaluator'}
  return json.dumps({'cluster': spec, 'task': {'type': task_type, 'index': index},
                     'environment': 'cloud'})


def test_each_replica_gets_its_role_from_the_operator_tf_config():
  job = load('tfjob.json')
  name, replicas = job['metadata']['name'], job['spec']['tfReplicaSpecs']
  seen = []
  for kind in ('PS', 'Worker'):
    for i in range(replicas[kind]['replicas']):
      command = replicas[kind]['template']['spec']['containers'][0]['command']
      assert command[1] == 'train_alexnet.py' and not any(
          arg.startswith(('--job_name', '--ps_hosts', '--worker_hosts')) for arg in command)
      roles = cluster_roles.resolve(tf_config=operator_tf_config(name, replicas, kind.lower(), i))
      assert (roles.job_name, roles.task_index) == (kind.lower(), i)
      host = '%s-%s-%d.%s.svc:2222' % (name, kind.lower(), i, NAMESPACE)
      assert (roles.ps_hosts if kind == 'PS' else roles.worker_hosts)[i] == host
      seen.append((roles.job_name, roles.task_index, roles.is_chief))
  assert seen.count(('worker', 0, True)) == 1 and len(seen) == len(set(seen))
  with pytest.raises(UserError, match='run eval_alexnet.py there'):
    cluster_roles.resolve(tf_config=operator_tf_config(name, replicas, 'evaluator', 0))


def test_only_the_job_s_pods_reach_its_grpc_ports():
  """TensorFlow's gRPC servers run any graph op for anyone who reaches them: the policy selects
  the TFJob's pods (by the operator's job-name label) and admits only the job's own pods, only
  on the port of every ps and worker."""
  job, policy = load('tfjob.json'), load('networkpolicy.json')
  assert (policy['apiVersion'], policy['kind']) == ('networking.k8s.io/v1', 'NetworkPolicy')
  own_pods = {'matchLabels': {JOB_NAME_LABEL: job['metadata']['name']}}
  spec = policy['spec']
  assert spec['podSelector'] == own_pods and 'Ingress' in spec['policyTypes']
  [rule] = spec['ingress']  # nothing else comes in: no rule for other sources
  assert rule['from'] == [{'podSelector': own_pods}]
  ports = {(port.get('protocol', 'TCP'), port['port']) for port in rule['ports']}
  for kind in ('PS', 'Worker'):
    for container in job['spec']['tfReplicaSpecs'][kind]['template']['spec']['containers']:
      assert {('TCP', p['containerPort']) for p in container['ports']} <= ports, kind
  assert ports == {('TCP', 2222)}  # the port in the operator's TF_CONFIG

"""The flags train_alexnet.py and eval_alexnet.py share: defined once, defaults from the config
dataclasses, one place that folds --use_batch_norm into the model name."""
import json
import re
import subprocess
import sys
import types

import pytest

from base import UserError
from cli import script_flags
from support.scripts import ROOT
from support.scripts import assert_one_line_error
from support.scripts import run_script

# Parses the flags as the script would and prints its config (and the dataclass defaults).
_PRINT_CONFIG = '''
import dataclasses, json, sys
import {script} as script
from absl import flags
flags.FLAGS(['{script}.py'] + sys.argv[1:])
config = script.config_from_flags()
defaults = script.CONFIG(**{{f.name: getattr(config, f.name) for f in dataclasses.fields(config)
                             if f.default is dataclasses.MISSING
                             and f.default_factory is dataclasses.MISSING}})
print(json.dumps({{'config': dataclasses.asdict(config),
                  'defaults': dataclasses.asdict(defaults)}}, default=list))
'''


def config_of(script, *args):
  result = subprocess.run([sys.executable, '-c', _PRINT_CONFIG.format(script=script)] +
                          list(args), cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_training_flag_default_is_the_train_config_default():
  seen = config_of('train_alexnet', '--dataset_dir=d', '--train_dir=t')
  config, defaults = seen['config'], seen['defaults']
  params = config.pop('optimizer_params')
  defaults.pop('optimizer_params')
  assert config == defaults
  assert params['momentum'] == 0.9 and params['adam_beta2'] == 0.999


def test_every_evaluation_flag_default_is_the_eval_config_default():
  seen = config_of('eval_alexnet', '--dataset_dir=d', '--checkpoint_path=c', '--eval_dir=e')
  config, defaults = seen['config'], seen['defaults']
  assert config == defaults and config['max_number_of_steps'] == 0  # 0: from run.json


def test_flags_reach_the_config_and_batch_norm_picks_the_variant():
  train = config_of('train_alexnet', '--dataset_dir=d', '--train_dir=t', '--use_batch_norm',
                    '--input_pipeline=tf_data', '--checkpoint_exclude_scopes=a/fc8,a/fc7',
                    '--max_number_of_steps=0', '--moving_average_decay=0.999')['config']
  assert train['model_name'] == 'alexnet_v2_bn' and train['input_pipeline'] == 'tf_data'
  assert train['checkpoint_exclude_scopes'] == ['a/fc8', 'a/fc7']
  assert train['max_number_of_steps'] == 0 and train['moving_average_decay'] == 0.999
  evaluation = config_of('eval_alexnet', '--dataset_dir=d', '--checkpoint_path=c',
                         '--eval_dir=e', '--use_batch_norm')['config']
  assert evaluation['model_name'] == 'alexnet_v2_bn'


def test_choices_come_from_the_factories():
  result = run_script('train_alexnet.py', '--helpshort')
  assert '<alexnet_tv|alexnet_v2|alexnet_v2_bn>' in result.stdout
  assert '<queue|tf_data>' in result.stdout and '<fp32|bf16|fp16|auto>' in result.stdout
  assert_one_line_error(run_script('eval_alexnet.py', '--dataset_dir=d', '--model_name=vgg_16'),
                        'model_name', 'alexnet_v2')


def test_batch_norm_is_refused_for_a_net_without_a_variant():
  # torchvision's AlexNet has no batch norm, so no alexnet_tv_bn.
  flag_values = types.SimpleNamespace(model_name='alexnet_tv', use_batch_norm=True)
  with pytest.raises(UserError, match='--model_name=alexnet_tv has no batch-norm variant'):
    script_flags.model_name(flag_values)


def test_a_net_s_value_error_is_one_line_and_exit_2(records_dataset, tmp_path):
  # Batch norm on a batch of one: compat.batch_norm raises ValueError while the graph is built.
  result = run_script('train_alexnet.py', '--dataset_dir=' + records_dataset[0],
                      '--train_dir=%s' % tmp_path, '--use_batch_norm', '--batch_size=1',
                      '--num_readers=1', '--num_preprocessing_threads=1')
  # (Graph construction logs before it; the error is the last line.)
  assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr[-2000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('error: ') and 'batch size of at least 2' in last


def help_sections(text):
  """{section heading: [flag names]} of absl's --helpfull output, in the order printed."""
  sections, current = {}, None
  for line in text[text.index('\nflags:\n') + len('\nflags:\n'):].splitlines():
    heading = re.match(r'^(\S.*):$', line)
    if heading:
      current = sections.setdefault(heading.group(1), [])
    flag = re.match(r'^\s+(?:-\S+,)?--(?:\[no\])?(\w+)', line)
    if flag and current is not None:
      current.append(flag.group(1))
  return sections


def test_helpfull_lists_the_flags_by_topic_before_absl_s_own():
  # (A flag without a topic fails at import: script_flags.topic; eval_alexnet.py is imported
  # by the tests above.)
  result = run_script('train_alexnet.py', '--helpfull')
  assert '\nflags:\n' in result.stdout, result.stderr[-2000:]  # (absl exits with 1 here)
  sections = help_sections(result.stdout)
  topics = [name for name in sections if name in script_flags.TOPICS]
  assert list(sections)[:len(topics)] == topics  # the topics first, then absl's modules
  assert len(topics) >= 7
  assert not sections.get('train_alexnet.py') and 'script_flags' not in sections, sections
  assert {'dataset_dir', 'dataset_name'} <= set(sections['Dataset'])
  assert {'model_name', 'use_batch_norm'} <= set(sections['Model'])
  assert {'input_pipeline', 'num_readers'} <= set(sections['Input pipeline'])
  assert {'learning_rate', 'momentum', 'weight_decay'} <= set(sections['Optimization'])
  assert {'train_dir', 'checkpoint_path', 'save_interval_secs'} <= set(sections['Checkpoints'])
  assert {'save_summaries_secs', 'summarize_histograms'} <= set(sections['TensorBoard'])
  assert 'verbosity' in sections['absl.logging']


def test_a_parameter_of_another_optimizer_is_named_as_ignored():
  result = subprocess.run(
      [sys.executable, '-c', _PRINT_CONFIG.format(script='train_alexnet'), '--dataset_dir=d',
       '--train_dir=t', '--optimizer=rmsprop', '--momentum=0.5', '--rmsprop_decay=0.8'],
      cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert ('--momentum is not a parameter of --optimizer=rmsprop (it is of momentum); it is '
          'ignored.') in result.stderr
  assert '--rmsprop_decay is not' not in result.stderr

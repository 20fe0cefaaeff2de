"""base.options: a config field is an option (flag, help, topic, range), and what comes of it."""
import dataclasses
import subprocess
import sys
from typing import Optional
from typing import Sequence

import pytest
from absl import flags

from base import UserError
from base import options
from base.options import REQUIRED
from base.options import option
from support.scripts import ROOT


@dataclasses.dataclass
class Config:
  folder: str = option(REQUIRED, 'Where.', 'Files')
  steps: int = option(10, 'Steps.', 'Run', minimum=0, note='0: forever', says_value=True)
  rate: float = option(0.1, 'Rate.', 'Run', above=0)
  decay: Optional[float] = option(None, 'Decay.', 'Run', within='(0, 1]')
  epochs: float = option(1.0, 'Epochs.', 'Run', minimum=0, maximum=1e6)
  kind: str = option('a', 'Kind.', 'Run', choices=('a', 'b'))
  scopes: Sequence[str] = option((), 'Scopes.', 'Files')
  fast: bool = option(True, 'Fast.', 'Run')
  computed: dict = dataclasses.field(default_factory=dict)  # no option: no flag


@pytest.mark.parametrize('setting, message', [
    (dict(steps=-1), '--steps must be >= 0 (0: forever), got -1'),
    (dict(rate=0.0), '--rate must be positive'),
    (dict(decay=0.0), '--decay must be in (0, 1]'),
    (dict(decay=1.5), '--decay must be in (0, 1]'),
    (dict(epochs=float('inf')), '--epochs must be >= 0 and at most 1e+06'),
    (dict(rate=float('nan')), '--rate must be positive'),
    (dict(kind='c'), 'unknown --kind "c"; choose one of a, b'),
])
def test_a_value_out_of_its_range_or_choices_is_one_line(setting, message):
  with pytest.raises(UserError) as error:
    options.check(Config(folder='f', **setting))
  assert str(error.value) == message


def test_values_in_range_and_none_pass():
  options.check(Config(folder='f', steps=0, decay=1.0, epochs=1e6, kind='b'))
  options.check(Config(folder='f', decay=None))


def test_flags_come_from_the_fields_and_give_the_config_back():
  flag_values = flags.FlagValues()
  names = options.define_flags(Config, topics=('Files', 'Run'), flag_values=flag_values)
  assert names == ['folder', 'steps', 'rate', 'decay', 'epochs', 'kind', 'scopes', 'fast']
  assert flag_values['steps'].help == 'Steps.' and flag_values['steps'].default == 10
  assert flag_values['folder'].default is None
  assert flag_values['kind'].parser.enum_values == ['a', 'b']
  flag_values(['prog', '--folder=x', '--scopes=a/fc8,a/fc7', '--nofast', '--decay=0.5'])
  config = options.from_flags(Config, flag_values, computed={'k': 1})
  assert config == Config(folder='x', decay=0.5, scopes=['a/fc8', 'a/fc7'], fast=False,
                          computed={'k': 1})
  assert options.field_default(Config, 'scopes') == ()


def test_a_topic_not_among_the_topics_is_refused():
  with pytest.raises(ValueError, match="--folder has the topic 'Files'"):
    options.define_flags(Config, topics=('Run',), flag_values=flags.FlagValues())


def test_a_malformed_interval_is_refused_where_it_is_written():
  with pytest.raises(ValueError, match='not an interval'):
    option(0.5, 'Half.', within='0, 1')


def test_it_imports_no_tensorflow():
  # The converter defines its flags with it, and its worker processes must not load TensorFlow.
  code = 'import sys, base.options; print("tensorflow" in sys.modules)'
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                       cwd=ROOT)
  assert out.stdout.strip() == 'False'

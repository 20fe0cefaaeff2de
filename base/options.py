"""Options: config dataclass fields that carry their flag's help text, --helpfull topic and range
or choices, so that adding an option is one edit (its field), and what is derived from them: the
absl flags (define_flags), a config from the parsed flags (from_flags) and the one-line errors
for values out of range (check).

    batch_size: int = option(32, 'Images per step.', 'Input pipeline', above=0)

A field without option() (a value the script computes, a nested config) has no flag. Imports
absl's flags and no package of the suite but base, and no TensorFlow: the converter, whose worker
processes must not load TensorFlow, defines its flags here too.
"""
import dataclasses
import typing
from typing import Optional

from absl import flags

from base import UserError

REQUIRED = dataclasses.MISSING  # option(REQUIRED, ...): a field without default (flag: None)
_KEY = 'option'  # of a field's metadata

# The flags defined here belong to the module that calls define_flags (the script, or the
# script_flags it calls), and so are its key flags: absl credits the first module on the stack
# that has not disclaimed them.
flags.disclaim_key_flags()


@dataclasses.dataclass(frozen=True)
class Option:
  """What a field says about its flag. Ranges: minimum/maximum (inclusive), above (exclusive;
  above=0 reads "positive") or within (an interval such as '[0, 1)'); a value of None is never
  out of range. note: said in brackets after the range; says_value: ", got <value>" at the end.
  """
  help: str
  topic: Optional[str] = None
  minimum: Optional[float] = None
  above: Optional[float] = None
  maximum: Optional[float] = None
  within: Optional[str] = None
  choices: Optional[tuple] = None
  note: Optional[str] = None
  says_value: bool = False

  def range_text(self):
    """'positive', '>= 0', 'in [0, 1)', 'positive and at most 1e+06', ... (None: no range)."""
    if self.within:
      return 'in ' + self.within
    parts = []
    if self.above == 0:
      parts.append('positive')
    elif self.above is not None:
      parts.append('> %g' % self.above)
    if self.minimum is not None:
      parts.append('>= %g' % self.minimum)
    if self.maximum is not None:
      parts.append('at most %g' % self.maximum)
    return ' and '.join(parts) or None

  def in_range(self, value):
    if self.within:
      low, high = (float(bound) for bound in self.within[1:-1].split(','))
      return ((low < value if self.within[0] == '(' else low <= value) and
              (value < high if self.within[-1] == ')' else value <= high))
    return ((self.above is None or value > self.above) and
            (self.minimum is None or value >= self.minimum) and
            (self.maximum is None or value <= self.maximum))

  def problem(self, name, value):
    """The one-line error for --name=value, or None when the value is fine."""
    if value is None:
      return None
    if self.choices is not None:
      if value in self.choices:
        return None
      return 'unknown --%s "%s"; choose one of %s' % (name, value, ', '.join(self.choices))
    if self.range_text() is None or self.in_range(value):
      return None
    message = '--%s must be %s' % (name, self.range_text())
    if self.note:
      message += ' (%s)' % self.note
    if self.says_value:
      message += ', got %s' % ('%g' % value if isinstance(value, float) else value)
    return message


def option(default=REQUIRED, help_text='', topic=None, *, minimum=None, above=None,
           maximum=None, within=None, choices=None, note=None, says_value=False):
  """A dataclass field with default `default` (REQUIRED: none) and a flag of the field's name
  (see Option for the rest)."""
  if within is not None and not (within[0] in '[(' and within[-1] in '])'
                                 and within.count(',') == 1):
    raise ValueError('within=%r is not an interval such as "[0, 1)"' % (within,))
  metadata = {_KEY: Option(help_text, topic, minimum, above, maximum, within,
                           None if choices is None else tuple(choices), note, says_value)}
  return dataclasses.field(default=default, metadata=metadata)


def option_fields(config_cls):
  """{field name: Option} of the fields of config_cls (a class or an instance) with a flag."""
  return {field.name: field.metadata[_KEY] for field in dataclasses.fields(config_cls)
          if _KEY in field.metadata}


def field_default(config_cls, name):
  """The default of config_cls's field `name` (None for a required field)."""
  field = {f.name: f for f in dataclasses.fields(config_cls)}[name]
  if field.default_factory is not dataclasses.MISSING:
    return field.default_factory()
  return None if field.default is dataclasses.MISSING else field.default


def _definer(annotation):
  """The absl DEFINE_* for a field type (Optional[X] is X)."""
  args = [a for a in typing.get_args(annotation) if a is not type(None)]
  if typing.get_origin(annotation) is typing.Union and len(args) == 1:
    annotation = args[0]
  if typing.get_origin(annotation) in (list, tuple, typing.get_origin(typing.Sequence[str])):
    return flags.DEFINE_list
  return {bool: flags.DEFINE_boolean, int: flags.DEFINE_integer, float: flags.DEFINE_float,
          str: flags.DEFINE_string}[annotation]


def define_flags(config_cls, topics=None, flag_values=flags.FLAGS):
  """Defines --name for each option field of config_cls, with the field's type, default and help
  (an enum of its choices). The flags belong to the calling module; with `topics` (the topic
  names allowed), each field must have one of them, and its flag is listed under it in
  --helpfull (as absl's "module") and declared a key flag of the calling module. Returns the
  names defined."""
  hints = typing.get_type_hints(config_cls)
  for name, spec in option_fields(config_cls).items():
    default = field_default(config_cls, name)
    kwargs = {'flag_values': flag_values}
    if topics is not None:
      if spec.topic not in topics:
        raise ValueError('--%s has the topic %r, not one of %s' % (name, spec.topic, topics))
      kwargs['module_name'] = spec.topic
    if spec.choices is not None:
      flags.DEFINE_enum(name, default, list(spec.choices), spec.help, **kwargs)
    else:
      definer = _definer(hints[name])
      definer(name, list(default) if definer is flags.DEFINE_list else default, spec.help,
              **kwargs)
    if topics is not None:
      flags.declare_key_flag(name, flag_values)
  return list(option_fields(config_cls))


def from_flags(config_cls, flag_values=flags.FLAGS, **values):
  """config_cls with each option field's value from its flag; `values` give the other fields
  (and override)."""
  settings = {name: flag_values[name].value for name in option_fields(config_cls)}
  settings.update(values)
  return config_cls(**settings)


def check(config):
  """UserError (one line) for the first option field of config whose value is out of its range
  or not one of its choices."""
  for name, spec in option_fields(config).items():
    problem = spec.problem(name, getattr(config, name))
    if problem:
      raise UserError(problem)

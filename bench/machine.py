"""This machine and this process: the CPU, its bf16 support, the GPUs, where the net goes, the
peak resident memory, and a quiet TensorFlow."""
import os
import platform
import resource

import base
from bench.config import GB
from datasets.convert import photos


def cpu_model(cpuinfo='/proc/cpuinfo'):
  try:
    with open(cpuinfo) as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def gpu_names():
  import tensorflow as tf
  names = []
  for gpu in tf.config.list_physical_devices('GPU'):
    details = tf.config.experimental.get_device_details(gpu)
    names.append(details.get('device_name', gpu.name))
  return names


def mixed_precision(num_gpus, flags):
  """The mixed precision this machine runs: 'fp16' on a GPU, 'bf16' on a CPU with AVX512-BF16 or
  AMX, else None."""
  from rundir import session
  if num_gpus:
    return 'fp16'
  if flags & set(session.BF16_CPU_FLAGS):
    return 'bf16'
  return None


def machine_info():
  import tensorflow as tf

  from rundir import session
  flags = session.cpu_flags()
  gpus = gpu_names()
  return {
      'cpu': cpu_model(),
      'cores': photos.default_num_workers(),
      'bf16': bool(flags & set(session.BF16_CPU_FLAGS)),
      'bf16_flags': sorted(flags & set(session.BF16_CPU_FLAGS)),
      'gpus': gpus,
      'mixed_precision': mixed_precision(len(gpus), flags),
      'memory_gb': round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GB, 1),
      'tensorflow': tf.__version__,
      'python': platform.python_version(),
      'platform': platform.platform(),
      'onednn_opts': os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default'),
  }


def model_device():
  """Where the trainer puts the net: /gpu:0 when a GPU is visible, else /cpu:0."""
  from rundir import session
  from training import clones
  return clones.variables_device(clones.clone_devices(1, False, session.num_gpus()))


def peak_rss_bytes(status='/proc/self/status'):
  """This process's peak resident set (VmHWM), else ru_maxrss."""
  peak = base.read_kib_field(status, 'VmHWM')
  return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def quiet_tensorflow():
  """TensorFlow in graph mode, its warnings and info logs off (the tables are the output)."""
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  import warnings
  warnings.filterwarnings('ignore')
  import tensorflow as tf
  tf.get_logger().setLevel('ERROR')
  tf.compat.v1.disable_eager_execution()

"""Typed configs, one per job; CLI flags map 1:1 to their fields.

base.py       the parts several configs share, each field declared once: Seeded (seed), Runner
              and TeacherRunner (runner, actors), EngineSettings (kv_cache_gib), HttpSettings
              (concurrency), TeacherChoice (teacher), TeacherSettings (all of these), Sharded and
              DatasetOutput (shard_size, out, license), Documents (inputs, max_bytes), Sandboxed
              (timeout_s, workers, unsafe_no_sandbox), AnswersRun
lessons.py    `generate stories|textbooks|exercises`, steering and sense-check options
graders.py    annotate, judge, classifier train, filter, teacher humaneval; the two thresholds
selftrain.py  selftrain
pipeline.py   pipeline

The student's configs (pretrain, evaluate) are plain data beside it, in `student/config.py`.
"""

from .base import (
    RUNNER_HELP,
    TEACHER_HELP,
    AnswersRun,
    DatasetOutput,
    Documents,
    EngineSettings,
    HttpSettings,
    Part,
    Runner,
    Sandboxed,
    Seeded,
    Sharded,
    TeacherChoice,
    TeacherRunner,
    TeacherSettings,
)
from .graders import (
    RETRY_TEMPERATURE,
    AnnotateConfig,
    EducationalThreshold,
    HumanEvalConfig,
    JudgeConfig,
    KeepThreshold,
    TrainClassifierConfig,
    WebFilterConfig,
)
from .lessons import (
    ExercisesConfig,
    GenerateConfig,
    SenseJudge,
    SenseOptions,
    SteeringOptions,
    StoriesConfig,
    StoryLength,
    TextbooksConfig,
)
from .pipeline import PipelineConfig
from .selftrain import SelfTrainConfig

__all__ = [
    "RETRY_TEMPERATURE",
    "RUNNER_HELP",
    "TEACHER_HELP",
    "AnnotateConfig",
    "AnswersRun",
    "DatasetOutput",
    "Documents",
    "EducationalThreshold",
    "EngineSettings",
    "ExercisesConfig",
    "GenerateConfig",
    "HttpSettings",
    "HumanEvalConfig",
    "JudgeConfig",
    "KeepThreshold",
    "Part",
    "PipelineConfig",
    "Runner",
    "Sandboxed",
    "Seeded",
    "SelfTrainConfig",
    "SenseJudge",
    "SenseOptions",
    "Sharded",
    "SteeringOptions",
    "StoriesConfig",
    "StoryLength",
    "TeacherChoice",
    "TeacherRunner",
    "TeacherSettings",
    "TextbooksConfig",
    "TrainClassifierConfig",
    "WebFilterConfig",
]

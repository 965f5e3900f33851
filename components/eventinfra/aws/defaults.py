"""Every default eventinfra applies, with the platform fact behind it."""

from typing import Final

# --- SQS (limits from the SQS developer guide) ---
SQS_MIN_RETENTION_SECONDS: Final = 60
SQS_MAX_RETENTION_SECONDS: Final = 1_209_600  # 14 days
QUEUE_RETENTION_SECONDS: Final = 345_600  # 4 days, the SQS default
DLQ_RETENTION_SECONDS: Final = SQS_MAX_RETENTION_SECONDS
# A standard queue's DLQ keeps each message's original enqueue time, so it must keep messages
# longer than the source queue, or a dead-lettered message can expire on arrival.
PARKING_RETENTION_SECONDS: Final = SQS_MAX_RETENTION_SECONDS
SQS_MAX_VISIBILITY_SECONDS: Final = 43_200  # 12 hours
QUEUE_VISIBILITY_SECONDS: Final = 30  # the SQS default; for consumers we cannot size from a timeout
RECEIVE_WAIT_SECONDS: Final = 20  # long polling at the maximum: fewer empty (billed) receives
MAX_RECEIVE_COUNT: Final = (
    5  # AWS: at least 5 for Lambda consumers, so throttles do not dead-letter
)
SQS_MAX_NAME_LENGTH: Final = 80
SNS_MAX_NAME_LENGTH: Final = 256
# Lambda may be invoked up to six times within one visibility timeout (AWS Lambda SQS guidance).
VISIBILITY_TIMEOUT_MULTIPLIER: Final = 6

# --- SNS subscription filter policies ---
FILTER_MAX_KEYS: Final = 5
FILTER_MAX_COMBINATIONS: Final = 150

# --- Lambda ---
LAMBDA_RUNTIME: Final = "python3.12"
LAMBDA_TIMEOUT_SECONDS: Final = 30
LAMBDA_MAX_TIMEOUT_SECONDS: Final = 900
LAMBDA_MEMORY_MB: Final = 256
LAMBDA_BATCH_SIZE: Final = 10
LAMBDA_MAX_BATCH_SIZE: Final = 10_000
LAMBDA_FIFO_MAX_BATCH_SIZE: Final = 10
LAMBDA_MAX_BATCH_WINDOW_SECONDS: Final = 300
# AWS: a batch size above 10 needs a batching window of at least one second.
LAMBDA_BATCH_SIZE_WITHOUT_WINDOW: Final = 10
LAMBDA_MAX_FUNCTION_NAME_LENGTH: Final = 64
LOG_RETENTION_DAYS: Final = 30
# The only values CloudWatch Logs accepts for retentionInDays.
LOG_RETENTION_CHOICES: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# --- Idempotency (AWS Lambda Powertools conventions) ---
IDEMPOTENCY_HASH_KEY: Final = "id"
IDEMPOTENCY_TTL_ATTRIBUTE: Final = "expiration"
IDEMPOTENCY_TTL_SECONDS: Final = 3_600  # the Powertools default record lifetime
# A record's `expiration` is now + TTL in whole epoch seconds (DynamoDB TTL reads a Number of
# epoch seconds; Redis `SET ... EX` takes a positive integer). A year is eventinfra's bound: a
# longer memory of processed messages is a database, not an idempotency store.
IDEMPOTENCY_MAX_TTL_SECONDS: Final = 31_536_000

# --- Monitoring ---
ALARM_PERIOD_SECONDS: Final = 60
# Oldest message older than this means consumers are not keeping up.
QUEUE_AGE_ALARM_SECONDS: Final = 900
# ApproximateAgeOfOldestMessage (seconds) never exceeds the queue's retention, at most 14 days:
# a higher threshold never fires; below a minute the alarm fires on ordinary processing.
QUEUE_AGE_ALARM_MIN_SECONDS: Final = 60
QUEUE_AGE_ALARM_MAX_SECONDS: Final = 1_209_600
LAMBDA_ERRORS_ALARM_THRESHOLD: Final = 1
# The Errors metric counts invocations (Sum per period): a whole number. At least 1, since
# `>= 0` is always in alarm; the upper bound is eventinfra's sanity check.
LAMBDA_ERRORS_ALARM_MAX: Final = 1_000_000
# CloudWatch renders at most 100 widgets on one dashboard (dashboard body structure reference);
# larger platforms get several dashboards.
DASHBOARD_MAX_WIDGETS: Final = 100

# --- KMS ---
# A customer-managed key is required: SNS cannot use the AWS-managed SQS key to deliver.
KMS_DELETION_WINDOW_DAYS: Final = 30

# --- Limits checked before planning (docs/limits.md gives the source of each) ---
# Python and Node.js runtimes Lambda accepts for new functions (pulumi-aws's Runtime enum,
# which tracks the Lambda runtimes page; deprecated runtimes are refused at create time).
LAMBDA_PYTHON_RUNTIMES: Final = ("python3.9", "python3.10", "python3.11", "python3.12",
                                 "python3.13", "python3.14")  # fmt: skip
LAMBDA_NODE_RUNTIMES: Final = ("nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x")
LAMBDA_RUNTIMES: Final = LAMBDA_PYTHON_RUNTIMES + LAMBDA_NODE_RUNTIMES
# Lambda API `Environment.Variables` key pattern, and the 4 KB for all variables together.
LAMBDA_ENV_KEY_PATTERN: Final = r"[a-zA-Z][a-zA-Z0-9_]+"
LAMBDA_ENV_MAX_BYTES: Final = 4096
# Keys Lambda sets itself and refuses in a function's configuration.
LAMBDA_RESERVED_ENV: Final = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip
# What EventConsumer sets for eventinfra-runtime (runtime/CONTRACT.md, role lambda-consumer):
# a user value would be replaced.
EVENTINFRA_LAMBDA_ENV: Final = frozenset({
    "EVENTINFRA_BROKER", "EVENTINFRA_SERVICE", "EVENTINFRA_EVENTS", "EVENTINFRA_SCHEMAS_DIR",
    "EVENTINFRA_SCHEMAS", "EVENTINFRA_IDEMPOTENCY_TABLE", "EVENTINFRA_IDEMPOTENCY_KEY",
    "EVENTINFRA_IDEMPOTENCY_TTL_SECONDS", "EVENTINFRA_DEAD_LETTER_QUEUE_URL",
})  # fmt: skip
# Lambda unpacks the deployment package at LAMBDA_TASK_ROOT, /var/task; the schemas are bundled
# there because Lambda's 4 KB limit on all variables leaves no room for them.
LAMBDA_TASK_ROOT: Final = "/var/task"
# Topology events carry no schema version yet: every event is at version 1.
EVENT_SCHEMA_VERSION: Final = "1"
LAMBDA_ARCHITECTURE: Final = "x86_64"  # Lambda's default architecture
# IAM role names: at most 64 characters. Pulumi auto-names a role `<logical name>-<7 hex>`.
IAM_ROLE_MAX_NAME_LENGTH: Final = 64
PULUMI_AUTONAME_SUFFIX_LENGTH: Final = 8
# SNS filter policies (SNS developer guide, "Filter policy constraints").
FILTER_MAX_BYTES: Final = 256 * 1024
FILTER_NUMBER_LIMIT: Final = 1_000_000_000  # numeric values lie strictly within +-10^9
FILTER_OPERATORS: Final = ("anything-but", "equals-ignore-case", "exists", "numeric",
                           "prefix", "suffix")  # fmt: skip
# CloudWatch PutMetricAlarm: Period is 10, 20, 30 or a multiple of 60; period x evaluation
# periods at most one day for periods under an hour.
ALARM_SHORT_PERIODS: Final = (10, 20, 30)
ALARM_MAX_PERIOD_SECONDS: Final = 86_400
# AWS tagging rules: at most 50 user tags, keys 1-128 and values 0-256 characters of letters,
# digits, spaces and `_ . : / = + - @`, no `aws:` prefix.
TAG_MAX_COUNT: Final = 50
TAG_KEY_MAX_LENGTH: Final = 128
TAG_VALUE_MAX_LENGTH: Final = 256
# Tags eventinfra adds to resources: environment, eventinfra:component, eventinfra:role.
EVENTINFRA_TAG_COUNT: Final = 3

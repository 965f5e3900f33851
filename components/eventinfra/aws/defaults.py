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

# --- Monitoring ---
ALARM_PERIOD_SECONDS: Final = 60
# Oldest message older than this means consumers are not keeping up.
QUEUE_AGE_ALARM_SECONDS: Final = 900
LAMBDA_ERRORS_ALARM_THRESHOLD: Final = 1
# CloudWatch renders at most 100 widgets on one dashboard (dashboard body structure reference);
# larger platforms get several dashboards.
DASHBOARD_MAX_WIDGETS: Final = 100

# --- KMS ---
# A customer-managed key is required: SNS cannot use the AWS-managed SQS key to deliver.
KMS_DELETION_WINDOW_DAYS: Final = 30

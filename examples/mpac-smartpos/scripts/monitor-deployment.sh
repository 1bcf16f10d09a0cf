#!/bin/bash
# monitor-deployment.sh, copied as it is from the pipeline spec (section
# "Deployment Automation"). It is the spec's text, not a working script: it
# reads its options positionally although the workflow passes --flags, and
# asks get-metric-statistics for `--statistics p95`, which takes --extended-
# statistics instead. slipway replaces it with its own deploy commands later;
# until then it is kept unchanged for reference.
set -e

DURATION=$1
ERROR_RATE_THRESHOLD=$2
LATENCY_THRESHOLD=$3

START_TIME=$(date +%s)
END_TIME=$((START_TIME + DURATION))

echo "Monitoring deployment for $DURATION seconds..."
echo "Error rate threshold: $ERROR_RATE_THRESHOLD%"
echo "Latency threshold: $LATENCY_THRESHOLD ms"

while [ $(date +%s) -lt $END_TIME ]; do
  # Query CloudWatch metrics
  ERROR_RATE=$(aws cloudwatch get-metric-statistics \
    --namespace MPAC \
    --metric-name ErrorRate \
    --start-time $(date -u -d '5 minutes ago' +%Y-%m-%dT%H:%M:%S) \
    --end-time $(date -u +%Y-%m-%dT%H:%M:%S) \
    --period 300 \
    --statistics Average \
    --query 'Datapoints[0].Average' \
    --output text)

  LATENCY_P95=$(aws cloudwatch get-metric-statistics \
    --namespace MPAC \
    --metric-name Latency \
    --start-time $(date -u -d '5 minutes ago' +%Y-%m-%dT%H:%M:%S) \
    --end-time $(date -u +%Y-%m-%dT%H:%M:%S) \
    --period 300 \
    --statistics p95 \
    --query 'Datapoints[0].p95' \
    --output text)

  echo "Current metrics: Error rate: $ERROR_RATE%, Latency P95: $LATENCY_P95 ms"

  # Check thresholds
  if (( $(echo "$ERROR_RATE > $ERROR_RATE_THRESHOLD" | bc -l) )); then
    echo "ERROR: Error rate ($ERROR_RATE%) exceeds threshold ($ERROR_RATE_THRESHOLD%)"
    exit 1
  fi

  if (( $(echo "$LATENCY_P95 > $LATENCY_THRESHOLD" | bc -l) )); then
    echo "ERROR: Latency P95 ($LATENCY_P95 ms) exceeds threshold ($LATENCY_THRESHOLD ms)"
    exit 1
  fi

  sleep 60  # Check every minute
done

echo "Monitoring completed. Metrics stable."
